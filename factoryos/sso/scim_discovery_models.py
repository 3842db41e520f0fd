"""Shapes of SCIM's discovery documents (RFC 7643 §5–7): ServiceProviderConfig, ResourceType and Schema.

They are built by this service (factoryos/sso/scim.py), so the models forbid keys they do not name: a
key left out of a model fails at once instead of silently disappearing from the answer.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from factoryos.sso.scim_models import ScimDocument, ScimMeta


class _Strict(ScimDocument):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScimSupported(_Strict):
    supported: bool


class ScimBulk(ScimSupported):
    max_operations: int = Field(alias="maxOperations")
    max_payload_size: int = Field(alias="maxPayloadSize")


class ScimFilterSupport(ScimSupported):
    max_results: int = Field(alias="maxResults")


class ScimAuthenticationScheme(_Strict):
    type: str
    name: str
    description: str
    spec_uri: str | None = Field(None, alias="specUri")
    documentation_uri: str | None = Field(None, alias="documentationUri")
    primary: bool | None = None


class ScimServiceProviderConfig(_Strict):
    """What this SCIM service supports (RFC 7643 §5)."""

    schemas: list[str]
    documentation_uri: str | None = Field(None, alias="documentationUri")
    patch: ScimSupported
    bulk: ScimBulk
    filter: ScimFilterSupport
    change_password: ScimSupported = Field(alias="changePassword")
    sort: ScimSupported
    etag: ScimSupported
    authentication_schemes: list[ScimAuthenticationScheme] = Field(alias="authenticationSchemes")
    meta: ScimMeta


class ScimSubAttribute(_Strict):
    """A sub-attribute of a complex attribute: never complex itself (RFC 7643 §2.3.8)."""

    name: str
    type: str
    multi_valued: bool = Field(alias="multiValued")
    description: str
    required: bool
    case_exact: bool | None = Field(None, alias="caseExact")
    canonical_values: list[str] | None = Field(None, alias="canonicalValues")
    mutability: str
    returned: str
    uniqueness: str
    reference_types: list[str] | None = Field(None, alias="referenceTypes")


class ScimAttribute(ScimSubAttribute):
    """An attribute of a resource's schema (RFC 7643 §7); a complex one lists its sub-attributes."""

    sub_attributes: list[ScimSubAttribute] | None = Field(None, alias="subAttributes")


class ScimSchema(_Strict):
    """A resource's schema as this service keeps it (RFC 7643 §7)."""

    schemas: list[str]
    id: str = Field(description="The schema's URN.")
    name: str
    description: str
    attributes: list[ScimAttribute]
    meta: ScimMeta


class ScimSchemaExtension(_Strict):
    schema_: str = Field(alias="schema")
    required: bool


class ScimResourceType(_Strict):
    """A resource type of this service (RFC 7643 §6)."""

    schemas: list[str]
    id: str
    name: str
    endpoint: str
    description: str
    schema_: str = Field(alias="schema", description="The URN of the resource's core schema.")
    schema_extensions: list[ScimSchemaExtension] | None = Field(None, alias="schemaExtensions")
    meta: ScimMeta
