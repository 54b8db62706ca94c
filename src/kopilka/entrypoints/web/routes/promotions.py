"""(being built: a placeholder until its section lands)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.responses import Response

from kopilka.domain.staff import Permission
from kopilka.entrypoints.web.rendering import render
from kopilka.entrypoints.web.security import StaffContext, permitted

router = APIRouter()


@router.get("/promotions")
def index(request: Request,
          who: Annotated[StaffContext, permitted(Permission.PROMOTIONS_VIEW)]) -> Response:
    return render(request, "console/placeholder.html", {"section": "promotions"})
