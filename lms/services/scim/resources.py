"""The SCIM resources this service provider serves, described once: as scim2-models classes, from which the
discovery documents (Schemas, ResourceTypes) are generated, so what is published is what is read and written.

Only the attributes the platform keeps are declared. Anything else a provider sends (phone numbers,
addresses, a locale) is dropped rather than refused: identity providers send what their mapping holds,
and refusing it would stop a whole organisation's provisioning for an attribute nobody reads here.
"""

from __future__ import annotations

from typing import Annotated, Any

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Meta,
    Mutability,
    Patch,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

PREFIX = "/scim/v2"
MAX_RESULTS = 200  # the most resources one list answers (`count` above it is lowered to it)

# What providers are allowed to depart from: attributes of their own mapping (phoneNumbers, locale...) are
# dropped, not refused; a PATCH `remove` may carry the value it removes, and a PATCH to
# `emails[type eq "work"].value` creates the work address when there is none (Microsoft Entra sends both).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class Name(ComplexAttribute):
    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None


class Email(ComplexAttribute):
    value: Annotated[str | None, Required.true] = None
    type: str | None = None
    primary: bool | None = None


class EnterpriseUser(Extension):
    """RFC 7643 section 4.3, the attributes kept: employeeNumber is the person's employee id here (when
    sent; otherwise externalId is), department names their unit (by its code or its name)."""

    __schema__ = URN("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")

    employee_number: str | None = None
    cost_center: str | None = None
    department: str | None = None


class User(Resource[EnterpriseUser]):
    """A person of the organisation (their membership). `title` is their job code; `active` false
    deactivates the membership (history kept); emails are required, one of them being the address the
    person signs in with."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    display_name: str | None = None
    title: str | None = None
    active: bool | None = None
    emails: Annotated[list[Email] | None, Required.true] = None


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only] = None
    display: Annotated[str | None, Mutability.read_only] = None


class Group(Resource[Any]):
    """A unit of the organisation's tree, read only: units are kept on the Units page or by `lms units
    import`, and a person's unit comes with their User (enterprise `department`)."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Mutability.read_only, Required.true] = None


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A token HR creates on the organisation's SCIM page or with `lms scim token "
                "create --org SLUG`, sent as `Authorization: Bearer scim_...`.",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{PREFIX}/ServiceProviderConfig"),
    )


def resource_types() -> list[ResourceType]:
    found = []
    for model in (User, Group):
        kind = ResourceType.from_resource(model)
        kind.meta = Meta(resource_type="ResourceType", location=f"{PREFIX}/ResourceTypes/{kind.id}")
        found.append(kind)
    return found


def schemas() -> list[Schema]:
    found = []
    for model in (User, EnterpriseUser, Group):
        schema = model.to_schema()
        schema.meta = Meta(resource_type="Schema", location=f"{PREFIX}/Schemas/{schema.id}")
        found.append(schema)
    return found
