"""Days far outside any calendar in a console filter are refused with 422, never a 500."""

from __future__ import annotations

import pytest

from tests.web.conftest import Web


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "from=2026-02-30",
                                   "to=tomorrow"])
def test_filters_refuse_impossible_days(web: Web, query: str) -> None:
    admin = web.client("admin")
    for page in ("/console/audit", "/console/receipts", "/console/audit.csv"):
        response = admin.get(f"{page}?{query}")
        assert response.status_code == 422, (page, query, response.status_code)
        assert "internal_error" not in response.text
