"""Check SCIM exchanges against the published OpenAPI document: each answer against its documented
schema in SCIM's media type (errors against the documented SCIM error), and each body the server
accepted against the documented request body, so the document is never stricter than the server
for what identity providers really send."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from tests.production.spec_check import inline

SCIM = "/scim/v2"
MEDIA = "application/scim+json"


@dataclass
class ScimSpecChecker:
    spec: dict[str, Any]
    seen: set[tuple[str, str]] = field(default_factory=set)
    bodies: int = 0  # request bodies checked

    def template(self, path: str) -> str:
        for template in self.spec["paths"]:
            if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
                return template
        raise AssertionError(f"{path} is not documented")

    def _errors(self, schema: dict[str, Any], document: Any) -> list[str]:
        validator = Draft202012Validator({**schema, "components": self.spec["components"]})
        return [f"{e.message} at {list(e.path)}" for e in validator.iter_errors(document)]

    def check(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        if not request.url.path.startswith(SCIM):
            return
        method, template = request.method, self.template(request.url.path)
        operation = self.spec["paths"][template][method.lower()]
        self.seen.add((method, template))
        where = f"{method} {template} {response.status_code}"
        if response.status_code < 300 and request.content:
            media = request.headers.get("content-type", "").split(";")[0]
            documented = operation.get("requestBody", {}).get("content", {})
            assert media in documented, f"{where}: a body in {media} is not documented"
            schema = documented[media]["schema"]
            body = canonical(json.loads(request.content), inline(schema, self.spec["components"]["schemas"]))
            errors = self._errors(schema, body)
            assert not errors, f"{where}: the server took a body the document refuses: {errors[0]}"
            self.bodies += 1
        if response.status_code == 204:
            return
        assert response.headers["content-type"].startswith(MEDIA), where
        answer = operation["responses"].get(str(response.status_code)) or operation["responses"]["default"]
        errors = self._errors(answer["content"][MEDIA]["schema"], response.json())
        assert not errors, f"{where}: {errors[0]}"


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The object or array branch of `X | None`."""
    for branch in schema.get("anyOf", []):
        if "properties" in branch or "items" in branch:
            return branch
    return schema


def canonical(document: Any, schema: dict[str, Any]) -> Any:
    """`document` with its attribute names spelled as the (inlined) schema spells them: the
    document says SCIM's attribute names match without case (RFC 7643 §2.1)."""
    schema = _shape(schema)
    if isinstance(document, list):
        return [canonical(item, schema.get("items", {})) for item in document]
    if not isinstance(document, dict):
        return document
    properties = schema.get("properties", {})
    spelled = {name.lower(): name for name in properties}
    out: dict[str, Any] = {}
    for key, value in document.items():
        name = spelled.get(key.lower(), key)
        out[name] = canonical(value, properties.get(name, {}))
    return out


def watch(http: httpx.Client) -> ScimSpecChecker:
    """Check every SCIM exchange of `http` from now on."""
    with httpx.Client(base_url=http.base_url) as plain:
        checker = ScimSpecChecker(plain.get("/api/v1/openapi.json").json())
    http.event_hooks["response"].append(checker.check)
    return checker
