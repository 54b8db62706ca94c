"""Splitting a receipt-level amount over lines so that the parts add up exactly.

Largest remainder (Hamilton): every line gets the floor of its exact share; the units left
over go to the lines with the largest fractional parts, ties to the earlier line. The parts
always sum to the total, no part is negative, and a line with weight 0 gets nothing.
Everything is integer arithmetic: shares are exact fractions, never rounded floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` (>= 0) in proportion to integer `weights` (>= 0)."""
    if total < 0:
        raise ValueError("cannot allocate a negative total")
    at: list[int] = list(weights)  # a list: compiled, indexed without a call
    n = len(at)
    weight_sum = 0
    for w in at:  # loops, not sum() or a key function: see `distribute_remainders`
        weight_sum += w
    if total == 0 or weight_sum == 0:
        if total and not weight_sum:
            raise ValueError("cannot allocate over zero weights")
        return [0] * n
    # distribute_fractions(total, [total * w for w in weights], weight_sum), inlined: the
    # floors first; the remainders are made only when units are left over
    parts = [0] * n
    left = total
    for i in range(n):
        part = total * at[i] // weight_sum
        parts[i] = part
        left -= part
    if left:  # the remainders straight into their sort keys (see `_to_largest`)
        _bump_largest(parts, [total * at[i] % weight_sum * n + (n - 1 - i) for i in range(n)],
                      left)
    return parts


def distribute_fractions(total: int, numerators: Sequence[int], denominator: int) -> list[int]:
    """Round the exact shares numerators[i] / denominator to integers summing to `total`
    (which must lie between the sum of their floors and that sum plus the number of shares)."""
    parts, remainders = [], []
    for n in numerators:  # floors and remainders in one pass
        parts.append(n // denominator)
        remainders.append(n % denominator)
    return distribute_remainders(total, parts, remainders)


def distribute_remainders(total: int, parts: list[int], remainders: list[int]) -> list[int]:
    """distribute_fractions for shares already split into floors and remainders (numerator
    // denominator, numerator % denominator): the units `total` leaves over the floors go,
    one each, to the largest remainders. Returns `parts`, changed in place.

    The order is one sort of plain integers, remainder x n + (n - 1 - i): the largest
    remainder last, ties to the earlier line, and the line's index read back from the key.
    Compiled, that costs half of sorting the indexes by a key function, which calls through
    Python for every line (the engine allocates several times per receipt)."""
    n = len(parts)
    left = total
    for part in parts:
        left -= part
    if not 0 <= left <= n:
        raise ValueError(f"total {total} is not reachable from the shares")
    if left:
        _to_largest(parts, remainders, left)
    return parts


def _to_largest(parts: list[int], remainders: list[int], left: int) -> None:
    """One unit more to each of the `left` parts with the largest remainders (ties to the
    earlier part), by the sort described in `distribute_remainders`."""
    n = len(parts)
    _bump_largest(parts, [remainders[i] * n + (n - 1 - i) for i in range(n)], left)


def _bump_largest(parts: list[int], keys: list[int], left: int) -> None:
    """`_to_largest` given the sort keys, remainder x n + (n - 1 - i) (a list of its own:
    sorted in place)."""
    n = len(parts)
    keys.sort()  # the largest last
    for j in range(n - 1, n - 1 - left, -1):
        i = n - 1 - keys[j] % n
        parts[i] = parts[i] + 1


def distribute(total: int, exact: Sequence[Decimal]) -> list[int]:
    """Round exact decimal shares to integers summing to `total` (see distribute_fractions)."""
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = total - sum(floors)
    if not 0 <= left <= len(exact):
        raise ValueError(f"total {total} is not reachable from the shares")
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors
