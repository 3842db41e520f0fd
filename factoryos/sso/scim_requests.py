"""What an identity provider sends to the SCIM routes (RFC 7643/7644), as documented in the OpenAPI
document: User and Group bodies of POST and PUT, and PATCH operations.

The routes read these bodies themselves (factoryos/sso/scim_users.py), as leniently as SCIM asks, and
answer SCIM's own errors: these models describe what is accepted, they do not make it stricter.
So they allow attributes they do not name (the core attributes this service does not keep,
extension schemas such as the enterprise User) and say in words what JSON Schema cannot: attribute
names match without case (RFC 7643 §2.1), so `username` is `userName`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from factoryos.sso.scim_models import ENTERPRISE_SCHEMA, PATCH_SCHEMA

# Some providers send booleans as text ("True"); the routes read either, in any case.
_BOOL_TEXT = "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"
LenientBool = bool | Annotated[str, Field(pattern=_BOOL_TEXT)]
_OP = "^([Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Rr][Ee][Mm][Oo][Vv][Ee])$"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ScimNameIn(_Lenient):
    formatted: str | None = Field(None, description="Taken as the displayName when that is not sent.")
    given_name: str | None = Field(None, alias="givenName", max_length=200)
    family_name: str | None = Field(None, alias="familyName", max_length=200)


class ScimEmailIn(_Lenient):
    value: str | None = None
    type: str | None = None
    primary: LenientBool | None = None


class ScimUserIn(_Lenient):
    """A User as POST and PUT send it (PUT replaces what this service keeps of it). Attribute names
    match without case (RFC 7643 §2.1); attributes not named here are accepted and not kept."""

    schemas: list[str] | None = Field(None, description="e.g. the core User schema and extension schemas.")
    user_name: str = Field(alias="userName", max_length=320,
                           description="The person's email address: they sign in with it. Compared without "
                                       "case, so a change of case only changes nothing. A directory changes it "
                                       "only within its provider's email domains; for a person of another "
                                       "company too whose address it does not serve, another address it sends "
                                       "is not taken (their address stays, the rest applies).")
    external_id: str | None = Field(None, alias="externalId", max_length=500)
    name: ScimNameIn | None = None
    display_name: str | None = Field(None, alias="displayName", max_length=200)
    active: LenientBool | None = Field(None, description="false ends the person's sessions and blocks sign-in.")
    emails: list[ScimEmailIn] | None = Field(None, description="Not kept: the answer's email is the userName.")
    enterprise: dict[str, Any] | None = Field(None, alias=ENTERPRISE_SCHEMA,
                                              description="The enterprise User extension: accepted, not kept.")


class ScimMemberIn(_Lenient):
    value: str = Field(description="The id of a User of this company.")
    display: str | None = None
    type: str | None = None


class ScimGroupIn(_Lenient):
    """A Group as POST and PUT send it (PUT replaces its name and members). Attribute names match
    without case (RFC 7643 §2.1); attributes not named here are accepted and not kept."""

    schemas: list[str] | None = None
    display_name: str = Field(alias="displayName", max_length=256,
                              description="Matched by the provider's group → role rules.")
    external_id: str | None = Field(None, alias="externalId", max_length=500)
    members: list[ScimMemberIn] | None = None


class ScimPatchOperation(_Lenient):
    op: str = Field(pattern=_OP, description="add, replace or remove, in any case.")
    path: str | None = Field(None, description='e.g. userName, active, members[value eq "…"]; left out: `value` is '
                                               "an object of attributes. Paths match without case.")
    value: Any = Field(None, description="Needed by add and replace.")


class ScimPatchOp(_Lenient):
    """A PATCH request (RFC 7644 §3.5.2). For a User: active, userName (a new sign-in email),
    externalId, displayName, name and its parts, emails (they follow the userName); other core
    attributes and extension attributes are accepted and not kept. For a Group: displayName,
    externalId, members (add, remove one by `members[value eq "…"]`, or replace all)."""

    schemas: list[str] = Field(json_schema_extra={"contains": {"const": PATCH_SCHEMA}},
                               description=f"Names {PATCH_SCHEMA}.")
    operations: list[ScimPatchOperation] = Field(alias="Operations", min_length=1)
