"""Organisation administration: units, people, audit trail."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/o/<org>/admin")


@bp.get("/units")
def units(org: str):
    return "units"


@bp.get("/people")
def people(org: str):
    return "people"


@bp.get("/audit")
def audit(org: str):
    return "audit"
