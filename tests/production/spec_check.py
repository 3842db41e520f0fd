"""Validate every JSON response against the published OpenAPI document (jsonschema 2020-12)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator

API = "/api/v1"
JSON_MEDIA = ("application/json", "application/problem+json")


@dataclass
class SpecChecker:
    spec: dict[str, Any]
    seen: set[tuple[str, str]] = field(default_factory=set)
    _routes: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for template in self.spec["paths"]:
            pattern = "^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$"
            self._routes.append((re.compile(pattern), template))

    def template(self, path: str) -> str:
        matches = [t for rx, t in self._routes if rx.match(path)]
        assert matches, f"{path} is not in the OpenAPI document"
        # A literal segment beats a parameter (e.g. /downtime/reasons vs /downtime/{event_id}).
        return min(matches, key=lambda t: t.count("{"))

    def check(self, response: httpx.Response) -> None:
        response.read()
        path = response.request.url.path
        if not path.startswith(API) or path.endswith("openapi.json") or path.endswith(("/docs", "/docs.js", "/docs.css")):
            return
        method = response.request.method.lower()
        template = self.template(path)
        operation = self.spec["paths"][template].get(method)
        assert operation is not None, f"{method.upper()} {template} is not documented"
        self.seen.add((method.upper(), template))
        documented = operation["responses"].get(str(response.status_code)) or operation["responses"]["default"]
        if response.status_code == 204 or not response.content:
            return
        media = response.headers.get("content-type", "").split(";")[0]
        content = documented.get("content", {})
        assert media in content, f"{method.upper()} {template} {response.status_code}: undocumented {media}"
        schema = content[media].get("schema")
        if schema and media in JSON_MEDIA:  # files (PDF, XLSX) are documented as binary strings
            validator = Draft202012Validator({**schema, "components": self.spec["components"]})
            errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
            assert not errors, f"{method.upper()} {template} {response.status_code}: {errors[0].message} at {list(errors[0].path)}"


def inline(schema: Any, defs: dict[str, Any]) -> Any:
    """`schema` with every local `$ref` replaced by what it names (in `defs`), recursively, so
    two documents that name their parts differently (`X-Input`, `$defs`) compare as equal."""
    if isinstance(schema, list):
        return [inline(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return inline(defs[name], defs) | inline(rest, defs)
    return {k: inline(v, defs) for k, v in schema.items() if k != "$defs"}
