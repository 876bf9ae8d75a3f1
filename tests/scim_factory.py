"""For the SCIM tests: an organisation's token and a client that sends it, and the identity providers'
recorded requests (tests/fixtures/scim) replayed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from lms.models import Membership
from lms.services.access import Actor
from lms.services.scim import tokens

FIXTURES = Path(__file__).parent / "fixtures" / "scim"
PREFIX = "/scim/v2"


def token_for(db: Session, creator: Membership, name: str = "Entra ID") -> str:
    """A SCIM token of the creator's organisation, acting for them (committed, as the page would)."""
    secret = tokens.create(db, Actor(creator.user, creator), name=name)
    db.commit()
    return secret


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Scim:
    client: FlaskClient
    token: str | None

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, str] | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        sent = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(
            PREFIX + path,
            method=method,
            query_string=query,
            data=data,
            headers=sent,
            content_type="application/scim+json",
        )

    def replay(self, name: str, **ids: str) -> TestResponse:
        """Send a provider's recorded request (`provider/request`), `{id}` filled with ids["id"]."""
        request = fixture(name)
        text = json.dumps(request)
        for key, value in ids.items():
            text = text.replace("{" + key + "}", value)
        request = json.loads(text)
        return self.send(
            request["method"], request["path"], body=request.get("body"), query=request.get("query")
        )
