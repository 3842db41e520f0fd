"""The global catalog: machine models and materials shared by every company."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from factoryos.catalog import entries
from factoryos.catalog.models import CatalogIn, CatalogOut, CatalogPatch, CatalogQuery, Kind
from factoryos.plant.listing import Page
from server.api import Context, Router

router = Router(prefix="/api/v1/catalog", tags=("catalog",))

VIEW = "assets.view"
MANAGE = "machines.manage"


def _named(fn: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = name  # the operationId
    fn.__doc__ = doc
    return fn


def _register(path: str, kind: Kind, noun: str) -> None:
    label = entries.LABEL[kind]

    def list_(ctx: Context, query: CatalogQuery) -> Page[CatalogOut]:
        page = entries.list_entries(ctx.conn, ctx.tenant_id, kind, query)
        return Page[CatalogOut](items=[entries.entry_out(r, ctx.tenant_id) for r in page.items],
                                next_cursor=page.next_cursor)

    def create(ctx: Context, body: CatalogIn) -> CatalogOut:
        out = entries.entry_out(entries.create_entry(ctx.conn, ctx.tenant_id, ctx.user_id, kind, body), ctx.tenant_id)
        ctx.audit("create", f"catalog_{kind}", out.id, after=out.model_dump(mode="json"))
        return out

    def get(ctx: Context, entry_id: UUID) -> CatalogOut:
        return entries.entry_out(entries.get_entry(ctx.conn, entry_id, kind), ctx.tenant_id)

    def update(ctx: Context, entry_id: UUID, body: CatalogPatch) -> CatalogOut:
        before, after = entries.update_entry(ctx.conn, ctx.tenant_id, entry_id, kind, body)
        out = entries.entry_out(after, ctx.tenant_id)
        ctx.audit("update", f"catalog_{kind}", entry_id,
                  before=entries.entry_out(before, ctx.tenant_id).model_dump(mode="json"),
                  after=out.model_dump(mode="json"))
        return out

    def remove(ctx: Context, entry_id: UUID) -> None:
        before = entries.delete_entry(ctx.conn, ctx.tenant_id, entry_id, kind)
        ctx.audit("delete", f"catalog_{kind}", entry_id,
                  before=entries.entry_out(before, ctx.tenant_id).model_dump(mode="json"))

    one = f"{path}/{{entry_id:uuid}}"
    router.get(path, permission=VIEW, query=CatalogQuery, response=Page[CatalogOut])(
        _named(list_, f"list_catalog_{noun}s", f"Catalog {label}s of every company; `q` searches name and maker."))
    router.post(path, permission=MANAGE, body=CatalogIn, response=CatalogOut, status_code=201)(
        _named(create, f"create_catalog_{noun}", f"Add a {label} to the global catalog, authored by your company."))
    router.get(one, permission=VIEW, response=CatalogOut)(_named(get, f"get_catalog_{noun}", f"One catalog {label}."))
    router.patch(one, permission=MANAGE, body=CatalogPatch, response=CatalogOut)(
        _named(update, f"update_catalog_{noun}", f"Change a {label} your company authored."))
    router.delete(one, permission=MANAGE, status_code=204)(
        _named(remove, f"delete_catalog_{noun}", f"Delete an unused {label} your company authored."))


_register("/machine-models", "machine_model", "machine_model")
_register("/materials", "material", "material")
