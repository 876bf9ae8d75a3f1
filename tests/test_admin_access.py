"""Who reaches the administration pages: every route that takes an id answers 404 for another
organisation's object (whichever organisation's address is used) and never shows its data; a learner
gets 403 in their own organisation and 404 in any other.

The routes come from the application's URL map, so a route added later without a case here fails
`test_every_admin_route_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import OrgTree, csrf_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import Invitation, JobCodeRole, Membership, OrgUnit, ScimToken, UnitKind

PREFIX = "/o/<org>/admin"


# --- one organisation's objects, and what a request to each route sends --------------------------------


@dataclass
class Side:
    """The objects of one organisation that the routes are asked about."""

    slug: str
    unit: OrgUnit  # an empty unit: rename, move and archive would all succeed on it
    archived_unit: OrgUnit
    spare_department: OrgUnit
    person: Membership
    gone_person: Membership
    coach: Membership
    invitation: Invitation
    scim_token: ScimToken
    mapping: JobCodeRole
    secrets: tuple[str, ...]  # text that must never appear on the other organisation's screens


def build_side(make, tree: OrgTree, word: str) -> Side:
    spare = make.unit(tree.org, f"{word} Spare Department", UnitKind.DEPARTMENT, tree.facility)
    unit = make.unit(tree.org, f"{word} Quiet Ward", UnitKind.UNIT, tree.department)
    archived = make.unit(tree.org, f"{word} Closed Ward", UnitKind.UNIT, tree.department)
    archived.archived_at = utcnow()
    make.db.commit()
    person = make.person(
        tree, name=f"{word} Person", email=f"{word.lower()}.person@{tree.org.slug}.example", unit=tree.unit
    )
    gone = make.person(tree, name=f"{word} Gone", active=False)
    coach = make.person(tree, name=f"{word} Coach", coach=True)
    invitation = Invitation(
        org_id=tree.org.id,
        email=f"{word.lower()}.invited@elsewhere.example",
        name=f"{word} Invited",
        stakeholder_role=StakeholderRole.CLINICIAN,
    )
    make.db.add(invitation)
    scim_token = ScimToken(
        org_id=tree.org.id,
        name=f"{word} Identity Provider",
        token_hash=f"{word}-digest",
        created_by_id=person.id,
    )
    make.db.add(scim_token)
    mapping = JobCodeRole(
        org_id=tree.org.id, job_code=f"{word}-RN", job_key=f"{word.lower()}-rn", stakeholder_role="clinician"
    )
    make.db.add(mapping)
    make.db.commit()
    return Side(
        slug=tree.org.slug,
        unit=unit,
        archived_unit=archived,
        spare_department=spare,
        person=person,
        gone_person=gone,
        coach=coach,
        invitation=invitation,
        scim_token=scim_token,
        mapping=mapping,
        secrets=(
            tree.org.name,
            unit.name,
            archived.name,
            spare.name,
            person.user.name,
            person.user.email,
            gone.user.name,
            coach.user.name,
            person.employee_id,
            invitation.name,
            invitation.email,
            scim_token.name,
            mapping.job_code,
        ),
    )


def person_details(side: Side) -> dict[str, Any]:
    return {
        "email": side.person.user.email,
        "name": side.person.user.name,
        "stakeholder_role": "executive",
        "unit_id": side.person.unit_id,
        "job_code": "X1",
        "employee_id": "STRANGER-1",
    }


# endpoint -> (which object the id names, form data to POST). Data that would succeed if the route
# forgot to scope by organisation, so only the scoping stops it.
BY_ID: dict[str, tuple[str, Callable[[Side], dict[str, Any]]]] = {
    "admin.unit": ("unit", lambda s: {"change": "rename", "name": "Renamed by a stranger"}),
    "admin.unit_rename": ("unit", lambda s: {"name": "Renamed by a stranger"}),
    "admin.unit_move": ("unit", lambda s: {"parent_id": s.spare_department.id}),
    "admin.unit_archive": ("unit", lambda s: {}),
    "admin.unit_restore": ("archived_unit", lambda s: {}),
    "admin.person": ("person", lambda s: {"change": "permissions", "org_admin": "y", "hr": "y"}),
    "admin.person_edit": ("person", person_details),
    "admin.person_permissions": ("person", lambda s: {"org_admin": "y", "hr": "y"}),
    "admin.person_deactivate": ("person", lambda s: {}),
    "admin.person_reactivate": ("gone_person", lambda s: {}),
    "admin.person_coach": ("person", lambda s: {"coach_id": s.coach.id}),
    "admin.person_extra_level": ("person", lambda s: {"extra_level": "", "extra_level_days": ""}),
    "admin.invitation_cancel": ("invitation", lambda s: {}),
    "scim_page.revoke_token": ("scim_token", lambda s: {}),
    "job_codes.change": ("mapping", lambda s: {f"m{s.mapping.id}-stakeholder_role": "board"}),
    "job_codes.remove": ("mapping", lambda s: {}),
}
WITHOUT_ID: dict[str, Callable[[Side], dict[str, Any]]] = {
    "admin.units": lambda s: {"parent_id": s.spare_department.id, "name": "Added by a stranger"},
    "admin.people": lambda s: {},
    "admin.person_new": lambda s: {**person_details(s), "email": "new.person@stranger.example"},
    "admin.audit": lambda s: {},
    "admin.sign_in_security": lambda s: {},
    "policy.page": lambda s: {},
    "policy.save": lambda s: {"require_awareness": "y", "days_awareness": "1"},
    "policy.change": lambda s: {"role": "clinician", "require_awareness": "y", "days_awareness": "1"},
    "policy.reset": lambda s: {},
    "scim_page.page": lambda s: {},
    "scim_page.create_token": lambda s: {"name": "Made by a stranger"},
    "job_codes.page": lambda s: {"job_code": "STRANGER-1", "stakeholder_role": "board"},
    "roster.page": lambda s: {},
    "roster.job": lambda s: {},
    "roster.progress": lambda s: {},
    "roster.apply": lambda s: {},
}


def admin_rules(app: Flask, *, with_id: bool):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX) and ("<int:" in rule.rule) == with_id
    ]


def requests_to(rule, side: Side) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, form data) for each method of the route, aimed at the side's objects."""
    if rule.endpoint in BY_ID:
        target, data = BY_ID[rule.endpoint]
        obj = getattr(side, target)
    else:
        obj, data = None, WITHOUT_ID[rule.endpoint]
    path = (
        rule.rule.replace("<org>", side.slug)
        .replace("<role>", "clinician")
        .replace("<job_id>", "no-such-job")
    )
    if obj is not None:
        for name in ("unit_id", "membership_id", "invitation_id", "token_id", "mapping_id"):
            path = path.replace(f"<int:{name}>", str(obj.id))
    assert "<" not in path, f"no value for an argument of {rule.rule}"
    return [(method, path, data(side)) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def send(client: FlaskClient, token: str, method: str, path: str, data: dict[str, Any]):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token, **data})


def snapshot(db, org_id: int) -> tuple:
    """Everything the routes could change in one organisation."""
    db.expire_all()
    units = db.scalars(select(OrgUnit).where(OrgUnit.org_id == org_id).order_by(OrgUnit.id)).all()
    people = db.scalars(select(Membership).where(Membership.org_id == org_id).order_by(Membership.id)).all()
    tokens = db.scalars(select(ScimToken).where(ScimToken.org_id == org_id).order_by(ScimToken.id)).all()
    mappings = db.scalars(
        select(JobCodeRole).where(JobCodeRole.org_id == org_id).order_by(JobCodeRole.id)
    ).all()
    return (
        [(m.id, m.job_code, m.stakeholder_role) for m in mappings],
        [(t.id, t.name, t.revoked_at) for t in tokens],
        [(u.id, u.name, u.parent_id, u.path, u.archived_at) for u in units],
        [
            (
                m.id,
                m.user.name,
                m.user.email,
                m.stakeholder_role,
                m.unit_id,
                m.job_code,
                m.employee_id,
                m.permissions,
                m.active,
                m.extra_level,
                m.extra_level_days,
            )
            for m in people
        ],
    )


@pytest.fixture
def alpha(make, tree) -> Side:
    return build_side(make, tree, "Alpha")


@pytest.fixture
def beta(make, other_tree) -> Side:
    return build_side(make, other_tree, "Beta")


# --- the tests ------------------------------------------------------------------------------------------


def test_every_admin_route_has_a_case(app):
    assert {r.endpoint for r in admin_rules(app, with_id=True)} == set(BY_ID)
    assert {r.endpoint for r in admin_rules(app, with_id=False)} == set(WITHOUT_ID)


def test_an_admin_never_reaches_another_organisations_objects(app, make, tree, alpha, beta, login_as, db):
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, hr=True)
    client = login_as(admin)
    token = csrf_token(client, "/")
    before = snapshot(db, beta.person.org_id)
    tried = set()
    for rule in admin_rules(app, with_id=True):
        for method, path, data in requests_to(rule, beta):
            for address in (path, path.replace(f"/o/{beta.slug}/", f"/o/{alpha.slug}/", 1)):
                resp = send(client, token, method, address, data)
                html = resp.get_data(as_text=True)
                assert resp.status_code == 404, f"{method} {address} answered {resp.status_code}"
                leaked = [s for s in beta.secrets if s in html]
                assert not leaked, f"{method} {address} showed {leaked}"
                tried.add(rule.endpoint)
    assert tried == set(BY_ID)
    assert snapshot(db, beta.person.org_id) == before


def test_the_same_requests_work_for_the_admins_own_organisation(app, make, tree, alpha, login_as, db):
    """The 404s above come from the organisation check, not from requests that could never succeed."""
    admin = make.person(tree, StakeholderRole.EXECUTIVE, org_admin=True, hr=True)
    client = login_as(admin)
    token = csrf_token(client, "/")
    for rule in admin_rules(app, with_id=True):
        for method, path, data in requests_to(rule, alpha):
            resp = send(client, token, method, path, data)
            assert resp.status_code in (200, 302), f"{method} {path} answered {resp.status_code}"


def test_a_learner_is_forbidden_at_home_and_not_found_elsewhere(app, make, tree, alpha, beta, login_as, db):
    learner = make.person(tree, StakeholderRole.CLINICIAN)
    client = login_as(learner)
    token = csrf_token(client, "/")
    before = (snapshot(db, alpha.person.org_id), snapshot(db, beta.person.org_id))
    tried = set()
    for rule in [*admin_rules(app, with_id=True), *admin_rules(app, with_id=False)]:
        for side, status in ((alpha, 403), (beta, 404)):
            for method, path, data in requests_to(rule, side):
                resp = send(client, token, method, path, data)
                assert resp.status_code == status, f"{method} {path} answered {resp.status_code}"
                html = resp.get_data(as_text=True)
                if side is beta:
                    assert not [s for s in beta.secrets if s in html]
                tried.add(rule.endpoint)
    assert tried == set(BY_ID) | set(WITHOUT_ID)
    assert (snapshot(db, alpha.person.org_id), snapshot(db, beta.person.org_id)) == before
