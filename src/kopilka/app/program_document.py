"""The program document: YAML or JSON text <-> the domain `Program` (SPEC P11).

`parse_program` reads the text (bounded in size, nesting and expanded values; duplicate keys
refused), validates it with the strict models of `program_schema`, then the cross-references of
`program_checks`, and builds the domain dataclasses. Every problem is reported at once as
`InvalidInput(code="invalid_program", errors=[{"loc": [...], "msg": ..., "line": n}])`, where
`loc` is the path in the document and `line` (YAML only, when known) its 1-based line.
`program_to_document` is the inverse: a JSON-ready dict in the same format, so that
`parse_program(yaml.safe_dump(program_to_document(p))) == p`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from kopilka.app.program_charity import charity_of
from kopilka.app.program_checks import Issue, Loc, check_program, minor_units, threshold_units
from kopilka.app.program_coalition import coalition_of
from kopilka.app.program_engagement import engagement_of
from kopilka.app.program_render import program_to_document
from kopilka.app.program_rewards import rewards_of
from kopilka.app.program_schema import (
    UNION_TAGS,
    BurnDoc,
    ConditionDoc,
    CurrencyDoc,
    DiscountDoc,
    EarnDoc,
    ExpiryDoc,
    GoodsDoc,
    ProgramDoc,
    RollingDoc,
    StepDoc,
    TiersDoc,
)
from kopilka.domain.errors import InvalidInput
from kopilka.domain.points import PointCurrency
from kopilka.domain.program import (
    BurnRule,
    Condition,
    DiscountRule,
    EarnRule,
    Expiry,
    ExpiryKind,
    Goods,
    Hours,
    Ladder,
    Multiplier,
    Program,
    Step,
    Tier,
    TierProgram,
    Window,
    WindowKind,
)

__all__ = ["MAX_DOCUMENT_BYTES", "parse_program", "program_to_document"]

MAX_DOCUMENT_BYTES = 256 * 1024
MAX_VALUES = 50_000  # scalars and collections after YAML aliases are expanded
MAX_DEPTH = 32
MAX_REPORTED = 100
JSON_TYPES = frozenset({"application/json", "text/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


def parse_program(text: str, *, content_type: str | None = None) -> Program:
    """Validate a program document (YAML or JSON text) and build the domain `Program`."""
    data, root = _load(text, content_type)
    try:
        doc = ProgramDoc.model_validate(data)
    except ValidationError as exc:
        issues = [(_clean_loc(err["loc"]), err["msg"])
                  for err in exc.errors(include_url=False, include_input=False)]
        raise _invalid(issues, root) from None
    issues = check_program(doc)
    if issues:
        raise _invalid(issues, root)
    return _program(doc)


# --- errors ---------------------------------------------------------------------------------

def _clean_loc(loc: tuple[str | int, ...]) -> Loc:
    return tuple(part for part in loc if part not in UNION_TAGS)


def _invalid(issues: list[Issue], root: yaml.Node | None = None) -> InvalidInput:
    errors: list[dict[str, Any]] = []
    for loc, msg in issues[:MAX_REPORTED]:
        error: dict[str, Any] = {"loc": list(loc), "msg": msg}
        line = _line(root, loc)
        if line is not None:
            error["line"] = line
        errors.append(error)
    first = errors[0]
    where = ".".join(map(str, first["loc"])) or "document"
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return InvalidInput(f"invalid program document: {where}: {first['msg']}{more}",
                        code="invalid_program", errors=errors)


def _line(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest YAML node on the path `loc`, if the text was YAML."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in reversed(node.value)
                         if isinstance(p[0], yaml.ScalarNode) and p[0].value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


# --- text -----------------------------------------------------------------------------------

def _load(text: str, content_type: str | None) -> tuple[Any, yaml.Node | None]:
    if not isinstance(text, str):
        raise _invalid([((), "the document must be text")])
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise _invalid([((), f"document too large: {size} bytes > {MAX_DOCUMENT_BYTES}")])
    text = text.removeprefix("\ufeff")
    kind = _kind(content_type)
    if kind == "json" or (kind is None and text.lstrip().startswith("{")):
        try:
            data, root = _load_json(text), None
        except InvalidInput:
            if kind == "json":
                raise
            data, root = _load_yaml(text)  # a YAML flow mapping also starts with "{"
    else:
        data, root = _load_yaml(text)
    _check_shape(data)
    return data, root


def _kind(content_type: str | None) -> str | None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("", "text/plain", "application/octet-stream"):
        return None
    if media in JSON_TYPES or media.endswith("+json"):
        return "json"
    if media in YAML_TYPES or media.endswith("+yaml"):
        return "yaml"
    raise InvalidInput(f"unsupported content type {media!r}: send JSON or YAML",
                       code="unsupported_media_type", status=415)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        message = f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except RecursionError:
        message = "the document is nested too deeply"
    except ValueError as exc:  # duplicate keys, constants, oversized integers
        message = f"JSON error: {exc}"
    raise _invalid([((), message)])


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe YAML that refuses duplicate keys (silently keeping the last one hides mistakes)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node,
                                                                           yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return (loader.construct_document(root) if root is not None else None), root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        message = f"YAML syntax error{where}: {exc.problem or exc.context}"
    except yaml.YAMLError as exc:  # e.g. a reader error on a non-printable character
        message = f"YAML error: {exc}"
    except RecursionError:
        message = "the document is nested too deeply"
    except (ValueError, OverflowError) as exc:  # e.g. an impossible date such as 2026-02-30
        message = f"YAML value error: {exc}"
    finally:
        loader.dispose()
    raise _invalid([((), message)])


def _check_shape(data: Any) -> None:
    """Bound the expanded size and depth (YAML aliases can expand a small text enormously)."""
    if not isinstance(data, dict):
        raise _invalid([((), "the document must be a mapping of program fields")])
    stack: list[tuple[Any, int]] = [(data, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _invalid([((), f"the document expands to more than {MAX_VALUES} values")])
        if depth > MAX_DEPTH:
            raise _invalid([((), f"the document is nested deeper than {MAX_DEPTH} levels")])
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


# --- document -> domain ---------------------------------------------------------------------

def _program(doc: ProgramDoc) -> Program:
    currencies = {c.code: _currency(c) for c in doc.point_currencies}
    default = doc.point_currencies[0].code
    return Program(
        name=doc.name,
        effective_from=doc.effective_from,
        currencies=tuple(currencies.values()),
        earn=tuple(_earn(rule, default) for rule in doc.earn),
        burn=_burn(doc.burn, currencies, default) if doc.burn else None,
        discount=_discount(doc.discount) if doc.discount else None,
        tiers=_tiers(doc.tiers) if doc.tiers else None,
        returns_policy=doc.returns.spent_earned_points,
        money_currency=doc.money_currency,
        labels=dict(doc.labels),
        coalition=coalition_of(doc),
        rewards=rewards_of(doc),
        engagement=engagement_of(doc),
        charity=charity_of(doc),
    )


def _currency(doc: CurrencyDoc) -> PointCurrency:
    return PointCurrency(code=doc.code, name=doc.name, scale=doc.scale,
                         unit_value_kopecks=doc.value, earn_rounding=doc.rounding,
                         min_available=minor_units(doc.min_balance, doc.scale))


# Equal goods sets read from documents are one object: what the till works out per goods set
# and receipt (`ReceiptLines.where`, kept by the goods object) is then worked out once for all
# the rules and promotions that name the same goods. Goods are frozen: sharing changes nothing.
_GOODS: dict[Goods, Goods] = {}
_GOODS_LIMIT = 10_000


def _goods(doc: GoodsDoc) -> Goods:
    goods = Goods(categories=tuple(doc.categories), skus=tuple(doc.skus))
    found = _GOODS.get(goods)
    if found is None:
        if len(_GOODS) >= _GOODS_LIMIT:
            _GOODS.clear()
        found = _GOODS[goods] = goods
    return found


def _ladder(percent: Any, steps: list[StepDoc] | None) -> Ladder:
    if steps is None:
        return Ladder(steps=(Step(from_kopecks=0, percent=percent),))
    return Ladder(steps=tuple(Step(from_kopecks=s.start, percent=s.percent) for s in steps))


def _condition(doc: ConditionDoc) -> Condition:
    hours = Hours(start=doc.hours.start, end=doc.hours.end) if doc.hours else None
    return Condition(goods=_goods(doc), channels=tuple(doc.channels),
                     payment_methods=tuple(doc.payment_methods),
                     weekdays=tuple(doc.weekdays), hours=hours)


def _expiry(doc: ExpiryDoc | None) -> Expiry:
    if doc is None:
        return Expiry()
    for kind in (ExpiryKind.AFTER_DAYS, ExpiryKind.END_OF_MONTH, ExpiryKind.END_OF_YEAR):
        count = getattr(doc, kind.value)
        if count is not None:
            return Expiry(kind=kind, count=count)
    raise AssertionError("expiry checked to have exactly one kind")


def _earn(doc: EarnDoc, default: str) -> EarnRule:
    multipliers = tuple(Multiplier(rule_id=m.id, factor=m.factor, when=_condition(m.when))
                        for m in doc.multipliers)
    return EarnRule(rule_id=doc.id, ladder=_ladder(doc.percent, doc.ladder),
                    multipliers=multipliers, excluded=_goods(doc.exclude),
                    currency=doc.currency or default, pending_days=doc.pending_days,
                    expiry=_expiry(doc.expiry))


def _burn(doc: BurnDoc, currencies: dict[str, PointCurrency], default: str) -> BurnRule:
    code = doc.currency or default
    return BurnRule(rule_id=doc.id, currency=code, point_value_kopecks=doc.point_value,
                    max_share_percent=doc.max_share_percent,
                    min_balance=minor_units(doc.min_balance, currencies[code].scale),
                    min_cash_kopecks=doc.min_cash, excluded=_goods(doc.exclude),
                    exclude_discounted=doc.exclude.discounted,
                    combine_with_discounts=doc.combine_with_discounts)


def _discount(doc: DiscountDoc) -> DiscountRule:
    return DiscountRule(rule_id=doc.id, ladder=_ladder(doc.percent, doc.ladder),
                        excluded=_goods(doc.exclude))


def _tiers(doc: TiersDoc) -> TierProgram:
    if isinstance(doc.window, RollingDoc):
        window = Window(kind=WindowKind.ROLLING_DAYS, days=doc.window.rolling_days)
    else:
        window = Window(kind=WindowKind(doc.window))
    levels = tuple(Tier(code=level.code, name=level.name,
                        threshold=threshold_units(level.threshold, doc.measure),
                        discount_percent=level.discount_percent,
                        earn_multiplier=level.earn_multiplier) for level in doc.levels)
    entry = doc.entry_purchase
    return TierProgram(rule_id=doc.id, measure=doc.measure, window=window, levels=levels,
                       downgrade_grace_days=doc.downgrade_grace_days,
                       entry_purchase_kopecks=entry.amount if entry else None,
                       entry_purchase_tier=entry.tier if entry else None)
