"""What a request sends, read in one place: ids and whole numbers, JSON bodies, and the NUL character.

Every view, form and the API (its query models, lms/web/api_models.py) take ids and numbers through
these functions, so one range and one set of messages hold everywhere and no input reaches the
database in a shape it refuses:

- An id is a whole number from 1 to ID_MAX, written in ASCII digits: the largest id both databases
  store (PostgreSQL's `integer` ends at 2^31-1; SQLite's at 2^63-1). `<int:...>` in any route is
  `IdConverter` (registered app-wide by `init_app`), so an id out of that range in a path matches no
  route: 404, like an id that does not exist. In a query or a form it is Invalid (400) naming the field.
- Numbers are read with `whole_number`: ASCII digits only (str.isdigit accepts "²", which int() refuses),
  or an integral "30.0" as JSON Schema's integer allows, and no more digits than the maximum has (int()
  refuses thousands), then checked against a range.
- JSON nested deeper than Python's parser can follow is a ValueError (so `request.get_json` answers
  400), and every refusal of a JSON body says what to fix (`Request.on_json_loading_failed`).
- PostgreSQL stores no NUL character in text: `refuse_nul` answers 400 for one in the path, the query,
  a form or a JSON string (and for an unpaired surrogate escape in JSON, which neither database
  stores), before any view (or database work) runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map

from lms.services import Invalid

ID_MAX = 2**31 - 1

NOT_JSON = "Send a JSON object (Content-Type: application/json)."
TOO_DEEP = "The JSON is nested too deeply: send a flatter object."


# --- ids and whole numbers --------------------------------------------------------------------------


class IdConverter(IntegerConverter):
    """`<int:name>` in every route: ASCII digits for a number from 1 to ID_MAX, or no match (404)."""

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def whole_number(
    value: object,
    field: str,
    *,
    minimum: int = 1,
    maximum: int = ID_MAX,
    message: str | None = None,
) -> int:
    """`value` (text as sent, or an int from JSON) as a whole number from `minimum` to `maximum`.

    Invalid naming `field` otherwise, with `message` if given, else one that says what to send.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)  # JSON Schema counts 2.0 as an integer, so the document allows it
    elif isinstance(value, str):
        digits, point, zeros = value.strip().partition(".")
        if point and zeros.strip("0"):
            digits = ""  # 2.5 is not whole; 30.0 is (JSON Schema's integer, as a query sends it)
        if digits.isascii() and digits.isdigit():
            # More digits than `maximum` has is too large (and int() refuses thousands of them).
            number = int(digits) if len(digits.lstrip("0")) <= len(str(maximum)) else maximum + 1
    if number is None or number < minimum:
        raise Invalid(message or f"{field} must be a whole number of {minimum} or more.", field)
    if number > maximum:
        raise Invalid(message or f"{field} must be at most {maximum}.", field)
    return number


def optional_id(value: object, field: str, *, message: str | None = None) -> int | None:
    """An id, or None when nothing (or only spaces) was sent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return whole_number(value, field, message=message)


def arg_id(name: str) -> int | None:
    """The id in query parameter `name`, or None when it is absent or blank."""
    return optional_id(request.args.get(name), name)


def arg_number(name: str, *, default: int, maximum: int = ID_MAX) -> int:
    """The whole number (1 or more) in query parameter `name`, or `default` when absent or blank."""
    value = request.args.get(name, "")
    if not value.strip():
        return default
    return whole_number(value, name, maximum=maximum)


def select_id(value: object) -> int | None:
    """WTForms `coerce` for a select of ids: "" is None; anything but an id is the field's ValueError,
    which WTForms shows next to the field (with the field's `invalid_value_message`)."""
    if value is None or value == "":  # the blank option; "  " is no id (and would pass InputRequired)
        return None
    try:
        return whole_number(value, "id")
    except Invalid as exc:
        raise ValueError(str(exc)) from None


# --- JSON bodies ------------------------------------------------------------------------------------


class TooDeep(ValueError):
    """JSON nested deeper than the parser follows."""


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that JSON nested too deeply to parse is a ValueError (a 400 from get_json)
    rather than the RecursionError the parser raises."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise TooDeep(TOO_DEEP) from None


class Request(flask.Request):
    """Refusals of a JSON body say what to fix (Flask's own say only "Bad Request")."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise Invalid(NOT_JSON)
        if isinstance(e, TooDeep):
            raise Invalid(TOO_DEEP)
        raise Invalid(f"The body is not valid JSON ({e}). {NOT_JSON}")


# --- characters no database stores ------------------------------------------------------------------


def nul_message(field: str) -> str:
    return f"Remove the invisible NUL character from {field}."


def refuse_nul() -> None:
    """Before every view: Invalid (400) for a NUL character in the path, the query, a form or a JSON
    string, naming where it is. PostgreSQL stores no NUL in text; no view should have to think of it."""
    problem = _nul_in_request()
    if problem is None:
        return
    g.lms_actor = None  # the error page must not look the organisation up by a path holding NUL
    field, message = problem
    raise Invalid(message, field)


def _nul_in_request() -> tuple[str, str] | None:
    """(field, message) for the first NUL found, or None."""
    if "\x00" in request.path:
        named = [name for name, value in (request.view_args or {}).items() if "\x00" in str(value)]
        field = named[0] if named else "the address"
        return field, nul_message(field)
    # A form or a JSON body is read only when the request carries a body (most requests are GETs).
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    for source in (request.args, request.form) if has_body else (request.args,):
        for key, value in source.items(multi=True):
            if "\x00" in key:
                return "", nul_message("a field name")
            if "\x00" in value:
                return key, nul_message(key)
    if has_body and request.is_json:
        body = request.get_json(silent=True)
        if body is not None:
            return next(_json_problems(body), None)
    return None


def _json_problems(body: Any) -> Iterator[tuple[str, str]]:
    """(field, message) for each NUL in a JSON string, and each unpaired surrogate (a "\\ud800" escape
    no database stores either); fields read like "text" or "items[2].name". Walked without recursion:
    the body may be nested hundreds deep."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield from _text_problems(path or "the body", value)
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from _text_problems(f"a key of {path}" if path else "a key", key)
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))


def _text_problems(field: str, text: str) -> Iterator[tuple[str, str]]:
    if "\x00" in text:
        yield field, nul_message(field)
    elif not _encodable(text):
        yield field, f"Remove the unpaired surrogate (an escape from \\ud800 to \\udfff) from {field}."


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: the id converter must be in place when routes are added."""
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    app.request_class = Request
    # First of all before-request functions, so no other (sign-in by token, CSRF) sees a NUL either.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)
