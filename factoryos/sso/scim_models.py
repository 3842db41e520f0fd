"""Shapes of SCIM 2.0 resources and messages (RFC 7643/7644) this service answers, and of the
company's SCIM token API. What providers send is in scim_requests.py; discovery documents in
scim_discovery_models.py. The OpenAPI document shows all of them in SCIM's media type.

SCIM attribute names are camelCase and some are not Python names (`$ref`, `Resources`): the
models use aliases and are written with `by_alias=True`, leaving out attributes without a value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

MEDIA_TYPE = "application/scim+json"


class ScimDocument(BaseModel):
    """A SCIM document: camelCase attributes by alias, written without the ones that have no value."""

    model_config = ConfigDict(populate_by_name=True)

    def document(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        _write_refs(data)
        return data


def _write_refs(data: Any) -> None:
    """A reference's URI is written `$ref` (RFC 7643 §2.3.7); a schema property of that name would
    read as a JSON-schema reference, so the model calls it `ref`. Resources of a list included."""
    if isinstance(data, list):
        for item in data:
            _write_refs(item)
    elif isinstance(data, dict):
        for key in ("groups", "members"):
            for item in data.get(key) or []:
                if isinstance(item, dict) and "ref" in item:
                    item["$ref"] = item.pop("ref")
        _write_refs(data.get("Resources"))


class ScimMeta(ScimDocument):
    resource_type: str = Field(alias="resourceType")
    created: datetime | None = None
    last_modified: datetime | None = Field(None, alias="lastModified")
    location: str
    version: str | None = None


class ScimName(ScimDocument):
    formatted: str | None = None
    given_name: str | None = Field(None, alias="givenName")
    family_name: str | None = Field(None, alias="familyName")


class ScimEmail(ScimDocument):
    value: str
    type: str | None = None
    primary: bool | None = None


class ScimRef(ScimDocument):
    """A group of a user, or a member of a group."""

    value: str
    ref: str | None = Field(None, description="The resource's URI, written as `$ref`.")
    display: str | None = None
    type: str | None = None


class ScimUser(ScimDocument):
    schemas: list[str] = Field(default_factory=lambda: [USER_SCHEMA])
    id: UUID
    external_id: str | None = Field(None, alias="externalId")
    user_name: str = Field(alias="userName", description="The person's email: they sign in with it. The same in "
                           "every company of the person; compared without case.")
    name: ScimName | None = None
    display_name: str | None = Field(None, alias="displayName")
    active: bool
    emails: list[ScimEmail] = Field(default_factory=list)
    groups: list[ScimRef] = Field(default_factory=list, description="Read-only: change a group's members.")
    meta: ScimMeta


class ScimGroup(ScimDocument):
    schemas: list[str] = Field(default_factory=lambda: [GROUP_SCHEMA])
    id: UUID
    external_id: str | None = Field(None, alias="externalId")
    display_name: str = Field(alias="displayName", description="Matched by the provider's group → role rules.")
    members: list[ScimRef] | None = None
    meta: ScimMeta


Resource = TypeVar("Resource", bound=BaseModel)


class ScimListResponse(ScimDocument, Generic[Resource]):
    """A page of Users or Groups (RFC 7644 §3.4.2; `startIndex` is 1-based), or every Schema or
    ResourceType in one page."""

    schemas: list[str] = Field(default_factory=lambda: [LIST_SCHEMA])
    total_results: int = Field(alias="totalResults")
    start_index: int = Field(alias="startIndex")
    items_per_page: int = Field(alias="itemsPerPage")
    resources: list[Resource] = Field(alias="Resources")


class ScimErrorBody(ScimDocument):
    schemas: list[str] = Field(default_factory=lambda: [ERROR_SCHEMA])
    status: str = Field(description="The HTTP status, as a string (RFC 7644 §3.12).")
    scim_type: str | None = Field(None, alias="scimType")
    detail: str
    code: str = Field(description="FactoryOS's stable error code.")


class ScimListQuery(BaseModel):
    """List parameters, read as text: SCIM answers bad values with its own error body."""

    model_config = ConfigDict(populate_by_name=True)

    filter: str | None = Field(None, max_length=1000, description='e.g. userName eq "ada@plant.example.com"')
    start_index: str | None = Field(None, alias="startIndex", max_length=20, description="1-based.")
    count: str | None = Field(None, max_length=20, description="Page size (at most 200).")
    attributes: str | None = Field(None, max_length=1000)
    excluded_attributes: str | None = Field(None, alias="excludedAttributes", max_length=1000)


# ---- the company's SCIM token (FactoryOS API) ------------------------------------------------

class ScimTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_id: UUID | None = Field(
        None, description="The provider whose group → role rules apply to SCIM groups; left out: the current one.")
    overlap_minutes: int = Field(0, ge=0, le=7 * 24 * 60,
                                 description="How long the token being replaced keeps working (0: it ends at once).")


class ScimStatus(BaseModel):
    enabled: bool = Field(description="A current token exists.")
    endpoint: str = Field(description="The SCIM base path, e.g. /scim/v2, on this server's address.")
    provider_id: UUID | None = None
    provider_name: str | None = None
    token_hint: str | None = Field(None, description="The current token's last characters, to tell tokens apart.")
    created_at: datetime | None = None
    previous_ends_at: datetime | None = Field(None, description="When a replaced token still working stops.")
    users: int = 0
    groups: int = 0


class ScimTokenOut(ScimStatus):
    token: str = Field(description="Shown this once: paste it into the identity provider's provisioning settings.")
