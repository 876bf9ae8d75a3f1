"""The pieces the API's models are built from: how a query value, a number, a flag, a timestamp and
an enum are read and documented (lms/web/api_models.py builds every request and answer from them).

Compatibility with the hand-written readers these replaced: in a query, a value that is empty or only
spaces means "not sent" (the default), and values are read with the spaces around them trimmed; flags
are true/1 or false/0 in any case; numbers are ASCII digits (or an integral 30.0, as JSON Schema allows).
"""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticUseDefault, core_schema

from curricula.model import Segment
from curricula.stakeholders import StakeholderRole
from lms.models import Permission
from lms.web import params

# --- ids, numbers, flags, timestamps ---------------------------------------------------


class QueryValue:
    """A query parameter as the hand readers took it: trimmed, and blank meaning "not sent".

    Validation sees the trimmed text (or the default when it is blank); the document says that a blank
    value is accepted too, so a client (or schemathesis) that sends `?page=` is not surprised.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(_trim_or_default, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        described = handler(schema)
        if described.get("type") == "string" and not {"enum", "minLength"} & described.keys():
            return described  # blank text is text already (but not one of an enum's values)
        return {"anyOf": [described, BLANK]}


SPACES = " \t\n\r\f\v"
BLANK = {"type": "string", "pattern": "^[ \\t\\n\\r\\f\\v]*$", "description": "Blank: the default."}
# Text in a query: anything but NUL, which no database stores (lms.web.params.refuse_nul refuses it).
QueryText = Annotated[str, Field(pattern="^[^\\x00]*$"), QueryValue()]


# What str.strip() removes (the services trim text with it), as a regex class both pydantic's regex and
# a JSON Schema reader take: text with at least one other character, and no NUL.
_SPACE_CLASS = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_SPACE_CLASS}][^\\u0000]*$"


def _trim_or_default(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip(SPACES)
        if not value:
            raise PydanticUseDefault
    return value


def whole_float(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer, so the API does too (true and "2" stay refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        value = {"true": True, "1": True, "false": False, "0": False}.get(value.lower(), value)
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def number(maximum: int) -> Any:
    """A whole number from 1 to `maximum` in a query, read as every form reads one (ASCII digits only,
    lms.web.params.whole_number, whose Invalid names the parameter); the Field states it for the document."""

    def read(value: Any, info: ValidationInfo) -> int:
        return params.whole_number(value, info.field_name or "", maximum=maximum)

    return Annotated[int, Field(ge=1, le=maximum), BeforeValidator(read), QueryValue()]


QueryFlag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"}), QueryValue()]


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO 8601 in UTC (ends in Z)."}),
]


def enum_values(enum: type[Enum]) -> Any:
    """A field holding one of `enum`'s values, documented inline (no $ref) so each parameter lists them."""
    return Annotated[enum, WithJsonSchema({"type": "string", "enum": [e.value for e in enum]})]


Role = enum_values(StakeholderRole)
PermissionName = enum_values(Permission)
SegmentKind = typing.get_type_hints(Segment)["kind"]


class Shape(BaseModel):
    """Every model: unknown keys refused, every key always sent (null when empty)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)
