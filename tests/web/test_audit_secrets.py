"""The audit log is read by auditors: single-use promo codes never land in it."""

from __future__ import annotations

from kopilka.app.audit import Person
from kopilka.app.library import Caller, Kopilka

MARKETER = Caller(name="staff:m", admin=True, person=Person("staff", "m", "Marta", "marketer"))


def test_a_generated_batch_is_audited_without_its_codes(kopilka: Kopilka) -> None:
    kopilka.create_promotion({"id": "spring", "name": "Spring", "reward": {
        "type": "percent_off", "percent": "5"}}, caller=MARKETER)
    made = kopilka.generate_codes("spring", count=25, caller=MARKETER).body
    assert len(made["codes"]) == 25  # the marketer still gets them
    entry = kopilka.audit_log(limit=1)["items"][0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == \
        ("generate_codes", "promotion", "spring")
    assert entry["after"]["result"]["count"] == 25
    exported = kopilka.audit_csv()
    assert not any(code in exported for code in made["codes"])
