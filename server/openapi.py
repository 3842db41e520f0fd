"""OpenAPI 3.1 generated from the endpoints' pydantic models, plus an offline docs page."""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from factoryos.sso.scim_models import MEDIA_TYPE as SCIM_MEDIA_TYPE
from factoryos.sso.scim_models import ScimErrorBody
from server.api import PUBLIC, Endpoint

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
_PARAM_TYPES = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer"}}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


# Standards whose routes speak a JSON media type of their own, errors included (SCIM: RFC 7644
# §3.12), rather than JSON and problem+json. A route naming one among its `response_media_types`
# answers in it, takes its documented body (`form`: the handler reads it) in it or as plain JSON,
# and has its errors documented in the standard's error model.
OWN_JSON_ERRORS: dict[str, type[BaseModel]] = {SCIM_MEDIA_TYPE: ScimErrorBody}


def _is_model(tp: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def own_json(ep: Endpoint) -> str | None:
    """The standard's JSON media type the route speaks instead of ours, if any."""
    own = [m for m in ep.response_media_types if m.endswith("+json")]
    for media in own:
        if media not in OWN_JSON_ERRORS:
            raise ValueError(f"{ep.method} {ep.path}: no error model is known for {media} (see OWN_JSON_ERRORS)")
    return own[0] if own else None


def build_openapi(endpoints: list[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for ep in endpoints:
        for request in (ep.body, ep.form):
            if request is not None:
                pairs.append((request, "validation"))
        if _is_model(ep.response):
            pairs.append((ep.response, "serialization"))
        own = own_json(ep)
        if own is not None:
            pairs.append((OWN_JSON_ERRORS[own], "serialization"))
    refs: dict[tuple[type, str], dict[str, Any]] = {}
    if pairs:
        unique = list(dict.fromkeys(pairs))
        mapping, defs = models_json_schema(unique, ref_template=REF)
        refs = {key: value for key, value in mapping.items()}
        schemas.update(defs.get("$defs", {}))

    def response_schema(tp: Any) -> dict[str, Any] | None:
        if tp is None:
            return None
        if _is_model(tp):
            return refs[(tp, "serialization")]
        schema = TypeAdapter(tp).json_schema(ref_template=REF, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        return schema

    paths: dict[str, Any] = {}
    for ep in endpoints:
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", ep.path)
        params = [
            {"name": m.group(1), "in": "path", "required": True, "schema": _PARAM_TYPES.get(m.group(2) or "", {"type": "string"})}
            for m in _PARAM.finditer(ep.path)
        ]
        if ep.query is not None:
            qschema = ep.query.model_json_schema(ref_template=REF)
            schemas.update(qschema.pop("$defs", {}))
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                param = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if "description" in prop:
                    param["description"] = prop["description"]
                params.append(param)
        op: dict[str, Any] = {
            "operationId": ep.operation_id,
            "summary": ep.summary,
            "tags": list(ep.tags),
            "x-permission": ep.permission,
            "responses": {},
        }
        if params:
            op["parameters"] = params
        if ep.permission != PUBLIC:
            op["security"] = [{"bearerAuth": []}]
        own = own_json(ep)
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(ep.body, "validation")]}},
            }
        elif ep.form is not None:
            body_schema = {"schema": refs[(ep.form, "validation")]}
            # A standard's JSON (RFC 7644 §3.1: application/json is accepted too), or an HTML form.
            media_types = [own, "application/json"] if own else ["application/x-www-form-urlencoded"]
            op["requestBody"] = {"required": True, "content": dict.fromkeys(media_types, body_schema)}
        ok: dict[str, Any] = {"description": "Success"}
        if ep.status_code != 204:
            content: dict[str, Any] = {}
            schema = response_schema(ep.response)
            content[own or "application/json"] = {"schema": schema} if schema else {}
            for media in ep.response_media_types:
                if media != own:
                    content[media] = {"schema": {"type": "string", "format": "binary"}}
            ok["content"] = content
        op["responses"][str(ep.status_code)] = ok
        if own is not None:
            error = {own: {"schema": refs[(OWN_JSON_ERRORS[own], "serialization")]}}
            op["responses"]["default"] = {"description": f"Error ({own})", "content": error}
        else:
            problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            op["responses"]["default"] = {"description": "Error (problem+json)", "content": problem_ref}
        paths.setdefault(path, {})[ep.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


# The docs page loads its style and script from files next to it, so the Content-Security-Policy
# can forbid inline code (no 'unsafe-inline').
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FactoryOS API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs.css">
</head><body><header><h1>FactoryOS API</h1></header><main id="app">Loading…</main>
<script src="docs.js"></script></body></html>"""

DOCS_CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#12355b;color:#fff;padding:14px 24px}h1{margin:0;font-size:20px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}h2{margin:28px 0 8px;font-size:17px}
details{background:#fff;border:1px solid #d7dce2;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px 12px;font-family:ui-monospace,monospace}
.m{display:inline-block;width:64px;font-weight:700}.GET{color:#0a6e31}.POST{color:#8a5300}
.PUT,.PATCH{color:#1d4ed8}.DELETE{color:#b91c1c}.perm{float:right;color:#57606a;font-size:12px}
pre{background:#f0f2f5;margin:0;padding:10px 12px;overflow:auto;font-size:12px}
"""

DOCS_JS = """fetch('openapi.json').then(r=>r.json()).then(spec=>{
  const app=document.getElementById('app');app.textContent='';
  const byTag={};
  for(const [path,ops] of Object.entries(spec.paths)){for(const [m,op] of Object.entries(ops)){
    const tag=(op.tags&&op.tags[0])||'other';(byTag[tag]=byTag[tag]||[]).push([m.toUpperCase(),path,op]);}}
  for(const tag of Object.keys(byTag).sort()){
    const h=document.createElement('h2');h.textContent=tag;app.appendChild(h);
    for(const [m,path,op] of byTag[tag]){
      const d=document.createElement('details');const s=document.createElement('summary');
      const b=document.createElement('span');b.className='m '+m;b.textContent=m;s.append(b,path+'  ');
      const p=document.createElement('span');p.className='perm';p.textContent=op['x-permission'];s.appendChild(p);
      const pre=document.createElement('pre');pre.textContent=JSON.stringify(op,null,2);
      d.append(s,pre);app.appendChild(d);}}
  const c=document.createElement('h2');c.textContent='Schemas';app.appendChild(c);
  const pre=document.createElement('pre');pre.textContent=JSON.stringify(spec.components.schemas,null,2);app.appendChild(pre);
});
"""
