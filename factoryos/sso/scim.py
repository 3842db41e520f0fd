"""SCIM 2.0 protocol pieces without storage: errors, filters, paging, PATCH operations, discovery.

Filters: the comparisons identity providers send when they look a resource up before creating it
(`userName eq "…"`, `externalId eq "…"`, `displayName eq "…"`, `id eq "…"`); anything else is
refused with 400 `invalidFilter` rather than answered wrongly (RFC 7644 §3.4.2.2 lets a
service provider support a subset). ServiceProviderConfig says so (`filter.supported`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from factoryos.sso.scim_discovery_models import ScimResourceType, ScimSchema, ScimServiceProviderConfig
from factoryos.sso.scim_models import (
    GROUP_SCHEMA,
    PATCH_SCHEMA,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SPC_SCHEMA,
    USER_SCHEMA,
    ScimErrorBody,
)

MAX_PAGE = 200
DEFAULT_PAGE = 100


class ScimError(Exception):
    """A SCIM error response (RFC 7644 §3.12): status, optional scimType, detail, and our stable code."""

    def __init__(self, status: int, detail: str, *, code: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.code = code

    def body(self) -> ScimErrorBody:
        return ScimErrorBody(status=str(self.status), scim_type=self.scim_type, detail=self.detail, code=self.code)


def invalid_value(detail: str, code: str = "scim_invalid_value") -> ScimError:
    return ScimError(400, detail, scim_type="invalidValue", code=code)


def not_found(kind: str, rid: str) -> ScimError:
    return ScimError(404, f"{kind} {rid} not found", code="scim_not_found")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, scim_type="uniqueness", code="scim_uniqueness")


# ---- filters -----------------------------------------------------------------------------------

_COMPARISON = re.compile(r'^\s*([A-Za-z][\w.:$-]*)\s+(eq)\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


@dataclass(frozen=True)
class Filter:
    attribute: str  # as the resource's attribute table names it, e.g. "username"
    value: str


def parse_filter(raw: str | None, allowed: set[str]) -> Filter | None:
    """`raw` as one `attr eq "value"`; attribute names without case, as RFC 7643 §2.1 says.

    `allowed` holds lower-case attribute names (a schema URN prefix is accepted and dropped)."""
    if raw is None or not raw.strip():
        return None
    match = _COMPARISON.match(raw)
    if match is None:
        raise ScimError(400, 'only one comparison of the form attribute eq "value" is supported here',
                        scim_type="invalidFilter", code="scim_invalid_filter")
    attribute = match.group(1).lower()
    for schema in (USER_SCHEMA, GROUP_SCHEMA):
        attribute = attribute.removeprefix(schema.lower() + ":")
    if attribute not in allowed:
        raise ScimError(400, f"cannot filter on {match.group(1)}: use one of {', '.join(sorted(allowed))}",
                        scim_type="invalidFilter", code="scim_invalid_filter")
    value = re.sub(r"\\(.)", r"\1", match.group(3))
    return Filter(attribute, value)


@dataclass(frozen=True)
class Page:
    start_index: int  # 1-based
    count: int


def parse_page(start_index: str | None, count: str | None) -> Page:
    """RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0."""
    def number(raw: str | None, name: str, default: int) -> int:
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise invalid_value(f"{name} must be a whole number, not {raw!r}") from None

    return Page(max(1, number(start_index, "startIndex", 1)),
                min(MAX_PAGE, max(0, number(count, "count", DEFAULT_PAGE))))


# ---- PATCH ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PatchOperation:
    op: str  # add | replace | remove
    path: str | None
    value: Any


def parse_patch(body: Any) -> list[PatchOperation]:
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", scim_type="invalidSyntax", code="scim_invalid_syntax")
    if PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"a PATCH body names the schema {PATCH_SCHEMA}", scim_type="invalidSyntax",
                        code="scim_invalid_syntax")
    raw_ops = body.get("Operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise ScimError(400, "Operations must be a list of at least one operation", scim_type="invalidSyntax",
                        code="scim_invalid_syntax")
    ops: list[PatchOperation] = []
    for index, raw in enumerate(raw_ops):
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
            raise ScimError(400, f"Operations[{index}] needs an op", scim_type="invalidSyntax",
                            code="scim_invalid_syntax")
        op = raw["op"].lower()  # some clients send "Replace"
        if op not in ("add", "replace", "remove"):
            raise ScimError(400, f"Operations[{index}].op must be add, replace or remove", scim_type="invalidSyntax",
                            code="scim_invalid_syntax")
        path = raw.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, f"Operations[{index}].path must be text", scim_type="invalidPath",
                            code="scim_invalid_path")
        if op == "remove" and not path:
            raise ScimError(400, f"Operations[{index}]: remove needs a path", scim_type="noTarget",
                            code="scim_no_target")
        if op != "remove" and "value" not in raw:
            raise ScimError(400, f"Operations[{index}]: {op} needs a value", scim_type="invalidValue",
                            code="scim_invalid_value")
        ops.append(PatchOperation(op, path.strip() if path else None, raw.get("value")))
    return ops


def as_bool(value: Any, name: str) -> bool:
    """A boolean; some providers send "True"/"False" as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(f"{name} must be true or false")


def as_text(value: Any, name: str, max_length: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid_value(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be text")
    text = " ".join(value.split())
    if len(text) > max_length:
        raise invalid_value(f"{name} is longer than {max_length} characters")
    return text


# ---- discovery (RFC 7644 §4) --------------------------------------------------------------------

def service_provider_config(base: str) -> ScimServiceProviderConfig:
    return ScimServiceProviderConfig.model_validate({
        "schemas": [SPC_SCHEMA],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_PAGE},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token", "primary": True,
            "description": "The company's SCIM token (Sign-in → SCIM in the admin screens), as "
                           "Authorization: Bearer <token>.",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    })


def _attr(name: str, kind: str = "string", *, required: bool = False, mutability: str = "readWrite",
          uniqueness: str = "none", case_exact: bool = False, multi: bool = False,
          sub: list[dict[str, Any]] | None = None, description: str = "") -> dict[str, Any]:
    attr: dict[str, Any] = {"name": name, "type": kind, "multiValued": multi, "description": description,
                            "required": required, "mutability": mutability, "returned": "default",
                            "uniqueness": uniqueness}
    if kind in ("string", "reference"):
        attr["caseExact"] = case_exact
    if sub is not None:
        attr["subAttributes"] = sub
    return attr


def _ref_attrs(kind: str) -> list[dict[str, Any]]:
    return [_attr("value", mutability="immutable" if kind == "Group" else "readWrite", description="The id."),
            _attr("$ref", "reference", mutability="immutable", description=f"The {kind}'s URI."),
            _attr("display", mutability="readOnly")]


def schemas(base: str) -> list[ScimSchema]:
    user = {
        "schemas": [SCHEMA_SCHEMA], "id": USER_SCHEMA, "name": "User", "description": "A person of the company",
        "attributes": [
            _attr("userName", required=True, uniqueness="server",
                  description="The person's email address; they sign in with it."),
            _attr("externalId", case_exact=True, description="The identity provider's id of the person."),
            _attr("name", "complex", sub=[_attr("formatted"), _attr("givenName"), _attr("familyName")]),
            _attr("displayName"),
            _attr("active", "boolean", description="false ends the person's sessions and blocks sign-in."),
            _attr("emails", "complex", multi=True,
                  sub=[_attr("value"), _attr("type"), _attr("primary", "boolean")],
                  description="Answered as the userName."),
            _attr("groups", "complex", multi=True, mutability="readOnly", sub=_ref_attrs("Group"),
                  description="Change a group's members to change these."),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{USER_SCHEMA}"},
    }
    group = {
        "schemas": [SCHEMA_SCHEMA], "id": GROUP_SCHEMA, "name": "Group",
        "description": "A directory group; the provider's group → role rules match its displayName",
        "attributes": [
            _attr("displayName", required=True, uniqueness="server"),
            _attr("externalId", case_exact=True),
            _attr("members", "complex", multi=True, sub=_ref_attrs("User")),
        ],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{GROUP_SCHEMA}"},
    }
    return [ScimSchema.model_validate(user), ScimSchema.model_validate(group)]


def resource_types(base: str) -> list[ScimResourceType]:
    return [
        ScimResourceType.model_validate({
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "People", "schema": USER_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}}),
        ScimResourceType.model_validate({
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "Groups (drive roles)", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"}}),
    ]
