"""Schemathesis against the served OpenAPI document, in-process (WSGI), as an org admin and as a learner.

For every operation, requests generated from the document (valid ones, and ones that break it) must
never answer 5xx, answer only documented status codes and content types, send bodies that match the
document, accept every valid request (an unknown organisation, module or id may still be 404) and
refuse every invalid one. Every method an address does not take answers 405 with an `Allow` header.
Later endpoints join this run by being in the document.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from gemba_factory import first_set
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from prompts_factory import schedule
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from curricula.stakeholders import StakeholderRole
from lms.db import utcnow
from lms.models import CoachingRelationship, PromptDelivery
from lms.services import journal, modules, tokens
from lms.services.access import Actor
from lms.services.prompt_delivery import deliver_due
from lms.web.api import PREFIX

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
EXAMPLES = 30  # per operation and generation mode
# In CI the examples are the same on every run, so a landing is decided by the code, not the dice; a
# developer's run draws new ones each time and keeps finding what CI would not (its seed is printed).
SAME_EXAMPLES = os.environ.get("CI") == "true"
METHODS = {"GET", "PUT", "POST", "PATCH", "DELETE"}


@pytest.fixture(params=["org_admin", "learner"])
def caller(request, db, make, tree, lib) -> dict:
    """A bearer token for the persona, and real values for the path parameters valid requests use."""
    module = lib.module(
        "model-for-improvement",
        checks=[("aim", "Which question sets the aim?", [("Who?", False), ("What?", True)], "Aim.")],
    )
    if request.param == "org_admin":
        member = make.person(tree, StakeholderRole.EXECUTIVE, name="Ada Admin", org_admin=True)
    else:
        member = make.person(tree, StakeholderRole.CLINICIAN, name="Lena Learner")
    secret = tokens.create_token(db, member.user, name="schemathesis")
    # The caller's own journal entry and module reflection, and their coaching by a coach.
    actor = Actor(member.user, member)
    entry = journal.write_entry(db, actor, body="An entry of the caller's own")
    reflection = modules.save_reflection(db, member.user, module.slug, "what-matters", "A reflection")
    coach = make.person(tree, StakeholderRole.QUALITY_STAFF, name="Cal Coach", coach=True)
    relationship = CoachingRelationship(org_id=tree.org.id, coach=coach, coachee=member, accepted_at=utcnow())
    db.add(relationship)
    rhythm = schedule(db, member, now=datetime.now(UTC) - timedelta(days=1, hours=1))
    deliver_due(db)
    db.commit()
    return {
        "headers": {"Authorization": f"Bearer {secret}"},
        "path": {
            "org": tree.org.slug,
            "unit_id": tree.unit.id,
            "membership_id": member.id,
            "slug": module.slug,
            "key": "aim",
            "entry_id": entry.id,
            "reflection_id": reflection.id,
            "relationship_id": relationship.id,
            "walk_id": 1,  # none made: 404, which the document lists
            "follow_up_id": 1,
            "schedule_id": rhythm.id,
            "delivery_id": db.scalar(
                select(PromptDelivery.id).where(PromptDelivery.schedule_id == rhythm.id)
            ),
        },
    }


def _operations(app):
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_as_its_document_says(app, caller, mode):
    operations, unbreakable = _operations(app), []
    for operation in operations:
        # Valid requests name real objects (random names are 404, which says little); invalid ones
        # keep what was generated, since that may be the part that breaks the document.
        real = caller["path"] if mode is GenerationMode.POSITIVE else None
        names = {p.name for p in operation.path_parameters}
        # The credentials are given, never generated: a negative case that breaks only the Authorization
        # header would otherwise be sent with the real token and be "accepted".
        fixed: dict = {"headers": caller["headers"]}
        if real and operation.definition.raw.get("operationId") == "saveReflection":
            real = {**real, "key": "what-matters"}  # the module's reflection prompt (its check is "aim")
        if real and operation.definition.raw.get("operationId") == "answerCheck":
            # Which option numbers a check has depends on its content, which the document cannot list.
            fixed["body"] = {"chosen": [1]}
        if real and operation.definition.raw.get("operationId") == "createGembaWalk":
            fixed["body"] = {
                "unit_id": real["unit_id"],
                "question_set": first_set(),
                "client_key": "schemathesis",
            }
        if real and operation.definition.raw.get("operationId") == "listPeople":
            fixed["query"] = {"unit_id": real["unit_id"]}  # a unit of another organisation is a 400
        strategy = operation.as_strategy(
            generation_mode=mode,
            path_parameters={k: v for k, v in (real or {}).items() if k in names} or None,
            **fixed,
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=SAME_EXAMPLES,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:
            # Nothing in this request can break the document (a free-text path name, no query, no
            # body) now that the credentials are given rather than generated.
            assert mode is GenerationMode.NEGATIVE, operation.label
            unbreakable.append(operation.label)
    assert len(unbreakable) < len(operations) / 2, unbreakable


def test_every_method_an_address_does_not_take_answers_405_with_allow(app, client, caller):
    documented = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app).raw_schema["paths"]
    refused = 0
    for path, operations in documented.items():
        url = PREFIX + path.format(**caller["path"])
        taken = {method.upper() for method in operations}
        for method in sorted(METHODS - taken):
            response = client.open(url, method=method, headers=caller["headers"])
            assert response.status_code == 405, (method, url)
            assert response.is_json
            allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
            assert taken <= allowed, (method, url, response.headers.get("Allow"))
            refused += 1
    assert refused >= 20
