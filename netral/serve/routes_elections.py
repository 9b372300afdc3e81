"""The election configs page: what the evidence extractor and the scan use right now, and what is broken.

Configs are files on the server (``NETRAL_ELECTIONS_DIR``), edited by an admin and checked with ``netral
elections validate``; this page shows the same reading of the directory the scan uses (re-read when a file
changes), so an admin sees a new file take effect and sees a broken one, with its file and field, at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from netral.db.schema import User
from netral.elections import current_catalog
from netral.review.roles import MANAGE_ELECTIONS
from netral.serve.deps import render, require, settings_of
from netral.vocabulary import ElectionType

router = APIRouter(include_in_schema=False)
admins = require(MANAGE_ELECTIONS)


@router.get("/admin/elections")
def elections_page(request: Request, user: User = Depends(admins)) -> Response:
    catalog = current_catalog(settings_of(request).elections_dir)
    return render(request, "elections.html", {"catalog": catalog, "types": ElectionType.labels()}, user=user)
