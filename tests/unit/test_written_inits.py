"""Dataclasses of the compiled domain that are made per receipt have a written `__init__`
(`@dataclass(init=False)`): mypyc compiles it, while the one `dataclass` generates stays
interpreted and costs ~17x as much. Each written one must take the declared fields, in their
order, with their defaults, as the generated one would."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import types
import typing
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kopilka import domain
from kopilka.engine_build import ENGINE

WRITTEN = [cls for name in ENGINE
           for cls in vars(importlib.import_module(f"kopilka.domain.{name}")).values()
           if isinstance(cls, type) and dataclasses.is_dataclass(cls)
           and cls.__module__ == f"kopilka.domain.{name}"
           and not cls.__dataclass_params__.init]  # type: ignore[attr-defined]


def sample(tp: Any, i: int) -> Any:
    """A value of type `tp`, distinct per `i` where the type allows."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return sample(next(a for a in args if a is not type(None)), i)
    if origin is tuple:
        return (sample(args[0], i),) if args[0] in (str, int) else ()
    if origin in (frozenset, Mapping, dict) or tp in (frozenset,):
        return origin() if origin is not Mapping else {}
    if tp is str:
        return f"value-{i}"
    if tp is bool:
        return i % 2 == 0
    if tp is int:
        return 1000 + i
    if tp is Decimal:
        return Decimal(i) / 4
    if tp is datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i)
    if dataclasses.is_dataclass(tp):
        return tp(*[sample(h, i + n) for n, (f, h) in enumerate(_required(tp))])
    raise AssertionError(f"no sample for {tp!r}")


def _hints(cls: type) -> dict[str, Any]:
    """The fields' types as the source declares them (compiled classes carry mypyc's runtime
    approximations instead, such as `type` for `datetime | None`)."""
    module = importlib.import_module(cls.__module__)
    source = Path(domain.__file__).parent / f"{cls.__module__.rsplit('.', 1)[1]}.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    body = next(node for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name == cls.__name__).body
    return {st.target.id: eval(ast.unparse(st.annotation), vars(module))  # noqa: S307
            for st in body if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)}


def _required(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    hints = _hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING]


def test_the_per_receipt_classes_have_written_inits() -> None:
    names = {cls.__name__ for cls in WRITTEN}
    assert {"Grant", "Effect", "Accrual", "Evaluation", "Line", "Receipt", "PointsBonus",
            "PromotionOutcome", "Screening", "Budget", "PromotionRejection"} <= names


@pytest.mark.parametrize("cls", WRITTEN, ids=lambda cls: cls.__name__)
def test_a_written_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    values = [sample(hints[f.name], n) for n, f in enumerate(fields)]
    by_position = cls(*values)
    by_keyword = cls(**{f.name: v for f, v in zip(fields, values, strict=True)})
    for f, value in zip(fields, values, strict=True):
        assert getattr(by_position, f.name) == value, f.name
    assert by_keyword == by_position
    assert dataclasses.replace(by_position) == by_position

    least = cls(*[sample(h, n) for n, (_f, h) in enumerate(_required(cls))])
    for f in fields:
        if f.default is not dataclasses.MISSING:
            assert getattr(least, f.name) == f.default, f.name


@pytest.mark.parametrize("cls", [c for c in WRITTEN if c.__dataclass_params__.frozen],
                         ids=lambda cls: cls.__name__)
def test_a_frozen_one_stays_frozen(cls: type) -> None:
    made = cls(*[sample(h, n) for n, (_f, h) in enumerate(_required(cls))])
    name = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, name, getattr(made, name))
    assert hash(made) == hash(dataclasses.replace(made))
