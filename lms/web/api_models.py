"""What the JSON API under /api/v1 reads and answers, described once as pydantic models.

The models validate each request (query, path and body), shape each answer, and are what the OpenAPI
document at /api/v1/openapi.json is generated from (lms/web/api.py, through spectree). Enums come from
the Python enums and limits from the services, so the document lists exactly what a request may hold.

How a query value, a number, a flag, a timestamp and an enum are read and documented lives in
lms/web/api_fields.py; this module builds every request and answer from those pieces.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
)

from lms.models import (
    AssignmentSource,
    CheckAttempt,
    Membership,
    Module,
    OrgUnit,
    Permission,
    Progress,
    ProgressStatus,
    Reflection,
    UnitKind,
    User,
)
from lms.services import catalogue, learning, modules, people
from lms.web.api_fields import (
    NOT_BLANK,
    PermissionName,
    QueryFlag,
    QueryText,
    QueryValue,
    Role,
    SegmentKind,
    Shape,
    Timestamp,
    enum_values,
    number,
    whole_float,
)
from lms.web.params import ID_MAX

# --- requests -------------------------------------------------------------------------------------


class Query(BaseModel):
    """Query parameters; ones the operation does not list are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore")


class UnitsQuery(Query):
    include_archived: Annotated[QueryFlag, Field(description="Include archived units.")] = True


class PeopleQuery(Query):
    q: Annotated[QueryText, Field(description="Part of a name, email, employee id or job code.")] = ""
    role: Annotated[Role, QueryValue(), Field(description="Only people in this stakeholder role.")] = None
    unit_id: Annotated[
        number(ID_MAX), Field(description="Only people in this unit or any unit below it.")
    ] = None
    include_inactive: Annotated[QueryFlag, Field(description="Include deactivated people.")] = False
    page: Annotated[number(ID_MAX), Field(description="Page number, from 1.")] = 1
    per_page: Annotated[number(people.PER_PAGE_MAX), Field(description="People per page.")] = (
        people.PER_PAGE_DEFAULT
    )


class ModulesQuery(Query):
    """The catalogue's filters. Which curricula, components, principles and dose levels exist comes
    from the latest content release: the served document lists them (`VOCABULARY_FILTERS`)."""

    q: Annotated[
        QueryText, Field(max_length=catalogue.SEARCH_MAX, description="Words that must all match.")
    ] = ""
    curriculum: Annotated[QueryText, Field(description="A curriculum id.")] = ""
    component: Annotated[QueryText, Field(description="A Leadership Framework for Quality component id.")] = (
        ""
    )
    principle: Annotated[QueryText, Field(description="A Whole System Quality leadership principle id.")] = ""
    role: Annotated[Role, QueryValue(), Field(description="Modules written for this stakeholder role.")] = (
        None
    )
    dose: Annotated[QueryText, Field(description="A dose level id.")] = ""


# The filters of ModulesQuery whose values are the content release's vocabulary (Vocabulary's fields).
VOCABULARY_FILTERS = {
    "curriculum": "curricula",
    "component": "components",
    "principle": "principles",
    "dose": "levels",
}


class AnswerRequest(Shape):
    """The options chosen, by index from 0."""

    # What a refusal says, by "field/pydantic error type" or by field (lms.web.api.fields_at_fault).
    refusals: ClassVar[dict[str, str]] = {
        "chosen/too_short": "Choose an answer.",
        "chosen": "chosen must be a list of option numbers, counted from 0.",
    }

    chosen: Annotated[
        list[Annotated[int, Field(ge=0, le=ID_MAX, strict=True), BeforeValidator(whole_float)]],
        Field(min_length=1, description="Which of these a check has depends on its content."),
    ]


class ReflectionRequest(Shape):
    """The caller's reflection: up to 10,000 characters, not only spaces."""

    refusals: ClassVar[dict[str, str]] = {
        "text/string_pattern_mismatch": modules.REFLECTION_EMPTY,
        "text/string_too_long": modules.REFLECTION_TOO_LONG,
        "text": "text must be a string.",
    }

    text: Annotated[str, Field(pattern=NOT_BLANK, max_length=modules.REFLECTION_MAX, strict=True)]


# Path parameters: Werkzeug matches them (an id out of range matches no route: 404); these describe them.
PATH_PARAMETERS: dict[str, Any] = {
    "org": Annotated[str, Field(description="The organisation's slug.")],
    "unit_id": Annotated[int, Field(ge=1, le=ID_MAX)],
    "membership_id": Annotated[
        int, Field(ge=1, le=ID_MAX, description="The id of the person's membership (`Person.id`).")
    ],
    "slug": Annotated[str, Field(description="The module's id (`ModuleSummary.slug`).")],
    "key": Annotated[str, Field(description="The key of a check or reflection prompt within the module.")],
}


# --- answers --------------------------------------------------------------------------------------


class Error(BaseModel):
    """Every error answer: a message for people and the HTTP status."""

    error: str
    status: int
    fields: Annotated[
        dict[str, list[str]],
        Field(description="For 400: each parameter or field at fault, with what to fix."),
    ] = {}


class OrganizationRef(Shape):
    """An organisation, by the slug used in URLs."""

    slug: str
    name: str


class UnitRef(Shape):
    """A unit of an organisation's tree."""

    id: int
    name: str

    @classmethod
    def of(cls, unit: OrgUnit | None) -> UnitRef | None:
        return None if unit is None else cls(id=unit.id, name=unit.name)


def _permissions(m: Membership) -> list[Permission]:
    return sorted(m.permissions, key=lambda p: p.value)


Permissions = Annotated[
    list[PermissionName],
    Field(description="What this membership may do beyond learning, in alphabetical order."),
]


class MembershipOut(Shape):
    """The signed-in person's place in one organisation."""

    id: int
    organization: OrganizationRef
    unit: UnitRef | None
    stakeholder_role: Role
    permissions: Permissions
    active: bool

    @classmethod
    def of(cls, m: Membership) -> MembershipOut:
        return cls(
            id=m.id,
            organization=OrganizationRef(slug=m.organization.slug, name=m.organization.name),
            unit=UnitRef.of(m.unit),
            stakeholder_role=m.stakeholder_role,
            permissions=_permissions(m),
            active=m.active,
        )


class Me(Shape):
    """The person the request is authenticated as."""

    id: int
    email: str
    name: str
    time_zone: Annotated[str, Field(description="IANA time zone name.")]
    memberships: list[MembershipOut]

    @classmethod
    def of(cls, user: User) -> Me:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            time_zone=user.time_zone,
            memberships=[MembershipOut.of(m) for m in user.memberships],
        )


class Unit(Shape):
    """A node of the unit tree (system > facility > department > unit)."""

    id: int
    name: str
    kind: enum_values(UnitKind)  # type: ignore[valid-type]
    parent_id: int | None
    active: Annotated[bool, Field(description="False once archived.")]
    archived_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def of(cls, u: OrgUnit) -> Unit:
        return cls.model_validate(u)  # the unit's attributes, by the same names


class UnitList(Shape):
    """Every unit of the organisation, parents before their children."""

    items: list[Unit]


class Person(Shape):
    """A person's membership of the organisation (the id is the membership's)."""

    id: int
    user_id: int
    name: str
    email: str
    stakeholder_role: Role
    unit: UnitRef | None
    job_code: str | None
    employee_id: str | None
    permissions: Permissions
    active: bool
    created_at: Timestamp
    deactivated_at: Timestamp | None

    @classmethod
    def of(cls, m: Membership) -> Person:
        return cls(
            id=m.id,
            user_id=m.user_id,
            name=m.user.name,
            email=m.user.email,
            stakeholder_role=m.stakeholder_role,
            unit=UnitRef.of(m.unit),
            job_code=m.job_code,
            employee_id=m.employee_id,
            permissions=_permissions(m),
            active=m.active,
            created_at=m.created_at,
            deactivated_at=m.deactivated_at,
        )


class PersonPage(Shape):
    """One page of people, by name."""

    items: list[Person]
    total: Annotated[int, Field(description="People matching the filters, on all pages.")]
    page: Annotated[int, Field(ge=1)]
    per_page: Annotated[int, Field(ge=1, le=people.PER_PAGE_MAX)]


_HTML = "HTML rendered by the curriculum engine (raw HTML is refused in content)."


class ModuleSummary(Shape):
    """A published module (ids of curricula, levels, components and principles as in content/)."""

    slug: Annotated[str, Field(description="The module's id, as in /modules/{slug}.")]
    title: str
    summary: str
    curriculum: str
    dose: Annotated[QueryText, Field(description="The dose level.")]
    component: str | None
    principles: list[str]
    roles: Annotated[list[Role], Field(description="The roles it is written for.")]
    minutes: int
    requires: Annotated[list[str], Field(description="Slugs to take first.")]
    objectives: list[str]
    active: Annotated[bool, Field(description="False once retired from the content.")]

    @classmethod
    def fields_of(cls, m: Module) -> dict[str, Any]:
        return {
            "slug": m.slug,
            "title": m.title,
            "summary": m.summary,
            "curriculum": m.curriculum,
            "dose": m.dose,
            "component": m.component,
            "principles": list(m.principles),
            "roles": list(m.roles),
            "minutes": m.minutes,
            "requires": list(m.requires),
            "objectives": list(m.objectives),
            "active": m.active,
        }

    @classmethod
    def of(cls, m: Module) -> ModuleSummary:
        return cls(**cls.fields_of(m))


class ModuleList(Shape):
    """Active modules matching the filters, prerequisites first."""

    items: list[ModuleSummary]


class Attempt(Shape):
    """The caller's latest answer to a check, against the module's current content."""

    chosen: list[int]
    correct: bool
    answered_at: Timestamp

    @classmethod
    def of(cls, attempt: CheckAttempt | None) -> Attempt | None:
        return None if attempt is None else cls.model_validate(attempt)


class Option(Shape):
    """An option, answered by its index (from 0)."""

    text_html: str


class CheckState(Shape):
    """A knowledge check; which options are correct is never sent."""

    key: str
    question_html: Annotated[str, Field(description=_HTML)]
    options: list[Option]
    multiple: Annotated[bool, Field(description="More than one option is correct.")]
    latest_attempt: Attempt | None
    explanation_html: Annotated[
        str | None, Field(description="Once the check is answered correctly (or the module completed).")
    ]


class ReflectionState(Shape):
    """A reflection prompt and the caller's saved answer to it."""

    key: str
    prompt_html: Annotated[str, Field(description=_HTML)]
    text: str | None
    updated_at: Timestamp | None


class ProgressOut(Shape):
    """The caller's progress through a module."""

    status: enum_values(ProgressStatus)  # type: ignore[valid-type]
    started_at: Timestamp
    last_seen_at: Timestamp
    resume_at: Annotated[str | None, Field(description="Key of the last block answered.")]
    completed_at: Timestamp | None
    completed_hash: Annotated[
        str | None, Field(description="The content hash the module was completed against.")
    ]
    score: Annotated[float | None, Field(description="Share of checks right at the first attempt.")]

    @classmethod
    def of(cls, p: Progress | None) -> ProgressOut | None:
        return None if p is None else cls.model_validate(p)  # the progress's attributes, by name


class SegmentOut(Shape):
    """A piece of the body: HTML, or the key of a check or reflection."""

    kind: SegmentKind  # type: ignore[valid-type]
    value: str


class ModuleDetail(ModuleSummary):
    """A module with its content in reading order and the caller's own progress in it."""

    content_hash: str
    segments: list[SegmentOut]
    checks: list[CheckState]
    reflections: list[ReflectionState]
    prerequisites_complete: Annotated[
        bool, Field(description="The caller completed every module this one requires (advice only).")
    ]
    progress: ProgressOut | None

    @classmethod
    def of_view(cls, view: modules.ModuleView) -> ModuleDetail:
        def check(data: dict) -> CheckState:
            key = data["key"]
            shown = view.explanation_shown(key)
            return CheckState(
                key=key,
                question_html=data["question_html"],
                options=[Option(text_html=o["text_html"]) for o in data["options"]],
                multiple=view.check(key).multiple,
                latest_attempt=Attempt.of(view.attempts.get(key)),
                explanation_html=data.get("explanation_html") if shown else None,
            )

        def reflection(data: dict) -> ReflectionState:
            saved = view.reflections.get(data["key"])
            return ReflectionState(
                key=data["key"],
                prompt_html=data["prompt_html"],
                text=saved.text if saved else None,
                updated_at=saved.updated_at if saved else None,
            )

        module = view.module
        return cls(
            **ModuleSummary.fields_of(module),
            content_hash=module.content_hash,
            segments=[SegmentOut(kind=s["kind"], value=s["value"]) for s in module.segments],
            checks=[check(c) for c in module.checks],
            reflections=[reflection(r) for r in module.reflections],
            prerequisites_complete=view.prerequisites_complete,
            progress=ProgressOut.of(view.progress),
        )


class AssignedModuleRef(Shape):
    """The module assigned."""

    slug: str
    title: str
    minutes: int
    dose: str


class AssignmentOut(Shape):
    """A module the caller must complete in one of their organisations."""

    id: int
    organization: OrganizationRef
    module: AssignedModuleRef
    source: enum_values(AssignmentSource)  # type: ignore[valid-type]
    assigned_at: Timestamp
    due_on: date
    overdue: Annotated[
        bool, Field(description="Past the due date in the organisation's time zone, not completed.")
    ]
    status: enum_values(learning.LearningStatus)  # type: ignore[valid-type]
    completed_at: Timestamp | None
    next_up: Annotated[bool, Field(description="The next thing to do in this organisation.")]

    @classmethod
    def of(cls, m: Membership, item: learning.AssignedModule, next_up: bool) -> AssignmentOut:
        return cls(
            id=item.assignment_id,
            organization=OrganizationRef(slug=m.organization.slug, name=m.organization.name),
            module=AssignedModuleRef(
                slug=item.module.slug,
                title=item.module.title,
                minutes=item.module.minutes,
                dose=item.module.dose,
            ),
            source=item.source,
            assigned_at=item.assigned_at,
            due_on=item.due_on,
            overdue=item.overdue,
            status=item.status,
            completed_at=item.completed_at,
            next_up=next_up,
        )


class AssignmentList(Shape):
    """The caller's active assignments, by organisation, dose level and due date."""

    items: list[AssignmentOut]


class AnswerResult(Shape):
    """Whether the answer was right. A completed module stays completed, whatever is answered later."""

    correct: bool
    explanation_html: Annotated[str | None, Field(description="When the answer is right.")]
    module_completed: bool
    just_completed: Annotated[bool, Field(description="This answer completed the module.")]
    progress: ProgressOut

    @classmethod
    def of(cls, answer: modules.Answer) -> AnswerResult:
        return cls.model_validate(answer)  # its progress read as ProgressOut, by the same names


class ReflectionOut(Shape):
    """The caller's saved reflection."""

    key: str
    text: str
    updated_at: Timestamp

    @classmethod
    def of(cls, key: str, r: Reflection) -> ReflectionOut:
        return cls(key=key, text=r.text, updated_at=r.updated_at)


class OpenApiDocument(RootModel[dict[str, Any]]):
    """The OpenAPI 3.1 document."""
