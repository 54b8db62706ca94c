"""One-time codes cannot be used to flood a phone: at most MAX_FAILURES_PER_LOGIN codes per
number per window, for a known number and an unknown one alike (nothing is revealed)."""

from __future__ import annotations

from kopilka.domain.staff import MAX_FAILURES_PER_LOGIN
from tests.web.conftest import Web
from tests.web.test_member_pages import PHONE, UNKNOWN_PHONE, enrol, request_code


def test_codes_to_one_number_are_limited_whether_or_not_it_is_a_member(web: Web) -> None:
    enrol(web)
    statuses: dict[str, list[int]] = {}
    for phone in (PHONE, UNKNOWN_PHONE):
        client = web.client()
        statuses[phone] = [request_code(client, phone).status_code
                           for _ in range(MAX_FAILURES_PER_LOGIN + 1)]
    expected = [200] * MAX_FAILURES_PER_LOGIN + [429]
    assert statuses == {PHONE: expected, UNKNOWN_PHONE: expected}
    sent = [s for s in web.lib.code_sender.sent if s[1] == PHONE]  # type: ignore[attr-defined]
    assert len(sent) == MAX_FAILURES_PER_LOGIN
    web.clock.advance(minutes=16)
    assert request_code(web.client(), PHONE).status_code == 200
