"""Coalition settlement (SPEC P5, F3) as a pure computation: who owes whom for a period.

A point is *issued* by the partner whose transaction created its lot and *redeemed* by the
partner whose transaction spent it. The issuer had the member's purchase; the redeemer gave
goods for the point. So the issuer pays the redeemer the point's agreed money value.
Redemptions of a partner's own points owe nothing, and neither do points with no known partner
on one side (`None`: an operation made in-process without a partner); both are still counted,
so that the statement ties out to the ledger.

Money is computed once per ordered pair, point currency and rate, on the pair's total:
points x rate, rounded half-up to the kopeck (ties away from zero, so a net refund is the exact
mirror of a redemption). Each amount owed is one partner's receivable and another's payable,
so the partners' net positions always sum to exactly zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext

from kopilka.domain.points import PointCurrency
from kopilka.domain.program import Coalition

Partner = str | None  # None: no partner is known for that side


@dataclass(frozen=True, slots=True)
class Flow:
    """Net points (minor units) of `issuer`'s lots redeemed at `redeemer`: redemptions less
    the refunds of redemptions (so it may be negative)."""

    issuer: Partner
    redeemer: Partner
    currency: str
    points: int


@dataclass(frozen=True, slots=True)
class Issued:
    """Net points (minor units) a partner issued: accruals less the accruals taken back."""

    partner: Partner
    currency: str
    points: int


@dataclass(frozen=True, slots=True)
class Terms:
    """The agreed rates of one program version: money per whole point of a currency."""

    currencies: Mapping[str, PointCurrency]
    coalition: Coalition | None = None

    def rate(self, issuer: str, redeemer: str, currency: str) -> Decimal:
        unit = Decimal(self.currencies[currency].unit_value_kopecks).scaleb(-2)
        if self.coalition is None or self.coalition.currency != currency:
            return unit
        return self.coalition.rate(issuer, redeemer, unit)

    def scale(self, currency: str) -> int:
        return self.currencies[currency].scale


@dataclass(frozen=True, slots=True)
class PairLine:
    """Points earned at `issuer` and spent at `redeemer` in one currency at one rate, and the
    money the issuer owes the redeemer for them (rate None, money 0: not settled, because a
    side is unknown)."""

    issuer: Partner
    redeemer: Partner
    currency: str
    points: int
    rate: Decimal | None
    money: int  # kopecks


@dataclass(frozen=True, slots=True)
class PairNet:
    """What is left between two partners once their debts are offset: `debtor` pays
    `creditor` `money` kopecks (never negative; 0 when they are even)."""

    debtor: str
    creditor: str
    money: int


@dataclass(frozen=True, slots=True)
class PartnerPoints:
    currency: str
    issued: int = 0
    redeemed_own: int = 0  # its own points spent at it
    redeemed_others: int = 0  # other partners' points spent at it
    redeemed_elsewhere: int = 0  # its points spent at other partners


@dataclass(frozen=True, slots=True)
class Position:
    """A partner's side of the statement: points by currency, money owed to it and by it."""

    partner: Partner
    points: tuple[PartnerPoints, ...]
    receivable: int  # kopecks the other partners owe it
    payable: int  # kopecks it owes the other partners

    @property
    def net(self) -> int:
        return self.receivable - self.payable


@dataclass(frozen=True, slots=True)
class Statement:
    pairs: tuple[PairLine, ...]  # issuer != redeemer
    nets: tuple[PairNet, ...]  # one per pair of known partners with lines between them
    positions: tuple[Position, ...]

    def redeemed(self, currency: str) -> int:
        """Every point redeemed in the period (what the ledger's system.redeemed says)."""
        return sum(p.redeemed_own + p.redeemed_others for pos in self.positions
                   for p in pos.points if p.currency == currency)

    def issued(self, currency: str) -> int:
        return sum(p.issued for pos in self.positions for p in pos.points
                   if p.currency == currency)

    def currencies(self) -> list[str]:
        return sorted({p.currency for pos in self.positions for p in pos.points})

    def involving(self, partner: str) -> Statement:
        """Only what concerns `partner`: its pairs, nets and position."""
        return Statement(
            pairs=tuple(p for p in self.pairs if partner in (p.issuer, p.redeemer)),
            nets=tuple(n for n in self.nets if partner in (n.debtor, n.creditor)),
            positions=tuple(p for p in self.positions if p.partner == partner))


def money_of(points: int, scale: int, rate: Decimal) -> int:
    """Kopecks that `points` (minor units of a currency with `scale`) are worth at `rate`
    money per whole point: rounded half-up (away from zero) to the kopeck."""
    with localcontext() as ctx:
        ctx.prec = 80  # exact for every amount the ledger can hold
        exact = Decimal(points).scaleb(-scale) * rate * 100
        return int(exact.to_integral_value(rounding=ROUND_HALF_UP))


def _order(partner: Partner) -> tuple[bool, str]:
    return (partner is None, partner or "")


@dataclass
class _Book:
    """Running totals while a statement is built."""

    points: dict[tuple[Partner, str], dict[str, int]] = field(default_factory=dict)
    lines: dict[tuple[Partner, Partner, str, Decimal | None], list[int]] = field(
        default_factory=dict)

    def add(self, partner: Partner, currency: str, what: str, points: int) -> None:
        sums = self.points.setdefault((partner, currency), {})
        sums[what] = sums.get(what, 0) + points


def settle(segments: Iterable[tuple[Terms, Iterable[Flow]]],
           issued: Iterable[Issued] = ()) -> Statement:
    """The statement of a period from its redemption flows, each segment of the period valued
    with the terms in force in it (one segment per program version), and the issued points."""
    book = _Book()
    for item in issued:
        if item.points:
            book.add(item.partner, item.currency, "issued", item.points)
    for terms, flows in segments:
        for flow in flows:
            _enter(book, terms, flow)
    pairs = _pair_lines(book)
    return Statement(pairs=pairs, nets=_nets(pairs), positions=_positions(book, pairs))


def _enter(book: _Book, terms: Terms, flow: Flow) -> None:
    if not flow.points:
        return
    if flow.issuer == flow.redeemer:
        book.add(flow.redeemer, flow.currency, "redeemed_own", flow.points)
        return
    book.add(flow.redeemer, flow.currency, "redeemed_others", flow.points)
    book.add(flow.issuer, flow.currency, "redeemed_elsewhere", flow.points)
    rate = None
    if flow.issuer is not None and flow.redeemer is not None:
        rate = terms.rate(flow.issuer, flow.redeemer, flow.currency)
    line = book.lines.setdefault((flow.issuer, flow.redeemer, flow.currency, rate),
                                 [0, terms.scale(flow.currency)])
    line[0] += flow.points


def _pair_lines(book: _Book) -> tuple[PairLine, ...]:
    lines = [PairLine(issuer, redeemer, currency, points, rate,
                      0 if rate is None else money_of(points, scale, rate))
             for (issuer, redeemer, currency, rate), (points, scale) in book.lines.items()
             if points]
    return tuple(sorted(lines, key=lambda p: (_order(p.issuer), _order(p.redeemer),
                                              p.currency, p.rate or 0)))


def _nets(pairs: Iterable[PairLine]) -> tuple[PairNet, ...]:
    owed: dict[tuple[str, str], int] = {}  # (a, b) with a < b: what a owes b, net
    for line in pairs:
        if line.issuer is None or line.redeemer is None:
            continue
        a, b = sorted((line.issuer, line.redeemer))
        sign = 1 if line.issuer == a else -1
        owed[(a, b)] = owed.get((a, b), 0) + sign * line.money
    nets = [PairNet(a, b, money) if money >= 0 else PairNet(b, a, -money)
            for (a, b), money in sorted(owed.items())]
    return tuple(nets)


def _positions(book: _Book, pairs: Iterable[PairLine]) -> tuple[Position, ...]:
    receivable: dict[Partner, int] = {}
    payable: dict[Partner, int] = {}
    for line in pairs:
        receivable[line.redeemer] = receivable.get(line.redeemer, 0) + line.money
        payable[line.issuer] = payable.get(line.issuer, 0) + line.money
    partners = {partner for partner, _ in book.points} | set(receivable) | set(payable)
    positions = []
    for partner in sorted(partners, key=_order):
        points = tuple(replace(PartnerPoints(currency), **sums)
                       for (who, currency), sums in sorted(book.points.items(),
                                                           key=lambda kv: kv[0][1])
                       if who == partner)
        positions.append(Position(partner, points, receivable.get(partner, 0),
                                  payable.get(partner, 0)))
    return tuple(positions)
