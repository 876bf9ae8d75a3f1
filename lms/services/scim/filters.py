"""SCIM filters on Users, as SQL: parsed by scim2-models, walked here into conditions on the people of
one organisation (lms.services.scim.users builds the query they apply to).

The attributes providers look people up by are filterable: userName, emails (emails.value, or a value
selection such as emails[type eq "work" and value eq "..."]), externalId, id, active, title and the
enterprise employeeNumber. Anything else is refused with `invalidFilter` rather than answered wrongly.
userName and emails compare without case, externalId and employeeNumber with it (RFC 7643 caseExact).

Microsoft Entra writes a sub-attribute after a value selection (`emails[type eq "work"].value eq "x"`),
which RFC 7644's filter grammar does not have: it is read as `emails[type eq "work" and value eq "x"]`.
Inside a value selection on emails only `value` narrows anything: each person has one address here, the
one they sign in with, so its type and primary flag hold whatever the provider asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import AttrPath, Comparison, LogicalExpr, Not, Present, ValuePath
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from lms.models import Membership, OrgUnit, ScimRecord, User
from lms.services.scim.resources import EnterpriseUser
from lms.services.search import ESCAPE, escape_like

CORES = ("urn:ietf:params:scim:schemas:core:2.0:user", "urn:ietf:params:scim:schemas:core:2.0:group")
ENTERPRISE = str(EnterpriseUser.__schema__).lower()

# attribute (lowercase) -> (its column, how it compares: "fold" (lowercased text), "exact", "boolean", "id")
Columns = dict[str, tuple[Callable[[], Any], str]]

_SUB_ATTRIBUTE_AFTER_SELECTION = re.compile(
    r'(\w+)\[([^\]]*)\]\.(\w+)\s+(eq|ne|co|sw|ew|gt|lt|ge|le)\s+("(?:[^"\\]|\\.)*"|[^\s)]+)', re.IGNORECASE
)


def condition(text: str, columns: Columns | None = None) -> ColumnElement[bool]:
    """The SQL condition a filter on Users (or on the given `columns`: GROUP_COLUMNS) stands for;
    InvalidFilterException when it cannot be read or names an attribute that cannot be filtered on."""
    text = _SUB_ATTRIBUTE_AFTER_SELECTION.sub(r"\1[\2 and \3 \4 \5]", text)
    try:
        parsed = ScimFilter(text)
    except Exception as exc:  # the grammar's own error says where the filter stops making sense
        raise InvalidFilterException(detail=f"The filter cannot be read: {exc}") from None
    return _node(USER_COLUMNS if columns is None else columns, parsed.ast, inside_emails=False)


def _node(columns: Columns, node: Any, *, inside_emails: bool) -> ColumnElement[bool]:
    if isinstance(node, LogicalExpr):
        terms = [_node(columns, term, inside_emails=inside_emails) for term in node.terms]
        return and_(*terms) if node.op.value == "and" else or_(*terms)
    if isinstance(node, Not):
        return not_(_node(columns, node.expr, inside_emails=inside_emails))
    if isinstance(node, ValuePath):
        if _name(node.attr_path) != "emails" or "emails" not in columns:
            raise InvalidFilterException(detail=f"Filtering on {node.attr_path} is not supported.")
        return _node(columns, node.val_filter, inside_emails=True)
    if isinstance(node, Present):
        column, _ = _column(columns, node.attr_path, inside_emails)
        return true() if column is None else column.is_not(None)
    if isinstance(node, Comparison):
        column, kind = _column(columns, node.attr_path, inside_emails)
        if column is None:
            return true()
        return _compare(column, node.op.value, node.value, kind)
    raise InvalidFilterException(detail="This kind of filter is not supported.")


def _name(path: AttrPath) -> str:
    uri = (path.uri or "").lower()
    if uri and uri not in (*CORES, ENTERPRISE):
        raise InvalidFilterException(detail=f"Filtering on {path} is not supported.")
    name = path.attr.lower()
    return f"{name}.{path.sub_attr.lower()}" if path.sub_attr else name


def _user_name() -> Any:
    return func.lower(func.coalesce(ScimRecord.user_name, User.email))


def _email() -> Any:
    return func.lower(func.coalesce(ScimRecord.email, User.email))


USER_COLUMNS: Columns = {
    "username": (_user_name, "fold"),
    "emails": (_email, "fold"),
    "emails.value": (_email, "fold"),
    "externalid": (lambda: ScimRecord.external_id, "exact"),
    "employeenumber": (lambda: Membership.employee_id, "exact"),
    "title": (lambda: func.lower(Membership.job_code), "fold"),
    "active": (lambda: Membership.active, "boolean"),
    "id": (lambda: Membership.id, "id"),
}
GROUP_COLUMNS: Columns = {
    "displayname": (lambda: func.lower(OrgUnit.name), "fold"),
    "externalid": (lambda: OrgUnit.code, "exact"),
    "id": (lambda: OrgUnit.id, "id"),
}
# Sub-attributes of an email that narrow nothing here (see the module's docstring).
EMAIL_FLAGS = {"type", "primary", "display"}


def _column(columns: Columns, path: AttrPath, inside_emails: bool) -> tuple[Any, str]:
    name = _name(path)
    if inside_emails:
        if name in EMAIL_FLAGS:
            return None, ""
        if name == "value":
            return _email(), "fold"
    if name not in columns:
        raise InvalidFilterException(detail=f"Filtering on {path} is not supported.")
    make, kind = columns[name]
    return make(), kind


def _compare(column: Any, op: str, value: Any, kind: str) -> ColumnElement[bool]:
    if kind == "id":
        number = str(value)
        if op != "eq":
            raise InvalidFilterException(detail="id can only be compared with eq.")
        valid = number.isascii() and number.isdigit() and len(number) < 10
        return column == int(number) if valid else false()
    if kind == "boolean" or value is None:
        if op not in ("eq", "ne") or not isinstance(value, bool | None):
            raise InvalidFilterException(detail="Compare this attribute with eq or ne and true or false.")
        matched = column.is_(None) if value is None else column == value
        return matched if op == "eq" else not_(matched)
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{value!r} is not a value this attribute takes.")
    text = value.lower() if kind == "fold" else value
    like = escape_like(text)
    match op:
        case "eq":
            return column == text
        case "ne":
            return or_(column != text, column.is_(None))
        case "co":
            return column.like(f"%{like}%", escape=ESCAPE)
        case "sw":
            return column.like(f"{like}%", escape=ESCAPE)
        case "ew":
            return column.like(f"%{like}", escape=ESCAPE)
        case "gt":
            return column > text
        case "ge":
            return column >= text
        case "lt":
            return column < text
        case "le":
            return column <= text
    raise InvalidFilterException(detail=f"{op} is not a comparison operator.")
