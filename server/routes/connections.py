"""Machine connection settings (how the poller reaches a machine). Passwords are write-only."""

from __future__ import annotations

from uuid import UUID

from factoryos.connectivity import connections
from factoryos.connectivity.connection_models import (
    BrowseIn,
    BrowseOut,
    ConnectionIn,
    ConnectionOut,
    ConnectionProbeOut,
)
from factoryos.connectivity.machine_config import check_node_id
from factoryos.connectivity.probe import browse_endpoint, probe_connection
from factoryos.identity.keys import DerivedKeys
from factoryos.keys import secret_key
from factoryos.live.snapshots import LiveSnapshots
from server.api import Context, Router

router = Router(prefix="/api/v1/machines", tags=("connectivity",))

MANAGE = "machines.manage"


def _renew_live(ctx: Context) -> None:
    # The live view shows each machine's connection: the next read (the form's list) computes afresh
    # instead of serving the snapshot the background renewer keeps. Dropped once committed: a reader
    # between the drop and the commit would read, and keep, the old connection.
    snapshots: LiveSnapshots | None = ctx.state.live_snapshots
    if snapshots is not None:
        tenant_id = ctx.tenant_id
        ctx.after_commit(lambda: snapshots.forget(tenant_id))


def _keys(ctx: Context) -> DerivedKeys:
    return DerivedKeys.from_secret(secret_key(ctx.settings))


@router.get("/{machine_id:uuid}/connection", permission=MANAGE, response=ConnectionOut)
def get_connection(ctx: Context, machine_id: UUID) -> ConnectionOut:
    """A machine's connection settings and the health the poller last reported."""
    return connections.connection_out(connections.get_connection(ctx.conn, ctx.tenant_id, machine_id))


@router.put("/{machine_id:uuid}/connection", permission=MANAGE, body=ConnectionIn, response=ConnectionOut)
def put_connection(ctx: Context, machine_id: UUID, body: ConnectionIn) -> ConnectionOut:
    """Create or replace a machine's connection; passwords left out keep the stored ones."""
    before, after, secrets_changed = connections.put_connection(ctx.conn, ctx.tenant_id, machine_id, body, _keys(ctx))
    out = connections.connection_out(after)
    audit_after = out.model_dump(mode="json", exclude={"health"}) | {"passwords_changed": secrets_changed}
    if before is None:
        ctx.audit("create", "machine_connection", machine_id, after=audit_after)
    else:
        previous = connections.connection_out(before).model_dump(mode="json", exclude={"health"})
        ctx.audit("update", "machine_connection", machine_id, before=previous, after=audit_after)
    _renew_live(ctx)
    return out


@router.post("/{machine_id:uuid}/connection/test", permission=MANAGE, body=ConnectionIn,
             response=ConnectionProbeOut, long_running=True)
def test_connection(ctx: Context, machine_id: UUID, body: ConnectionIn) -> ConnectionProbeOut:
    """Test connection: read the machine once with these settings, without saving them.

    Passwords left out are the stored ones. A failed read is an answer (`ok` false, with the
    error the connection's health would show), not an error of this request."""
    config = connections.proposed_config(ctx.conn, ctx.tenant_id, machine_id, body, _keys(ctx))
    return probe_connection(config)


@router.post("/{machine_id:uuid}/connection/browse", permission=MANAGE, body=BrowseIn, response=BrowseOut,
             long_running=True)
def browse_connection(ctx: Context, machine_id: UUID, body: BrowseIn) -> BrowseOut:
    """Browse an OPC-UA server's address space: the children of one node (the Objects folder by
    default), each variable with its current value, to pick the counter and status nodes.

    Endpoint settings as for *Test connection* (not saved; passwords left out are the stored
    ones). A server that cannot be reached is an answer (`ok` false), not an error of this request."""
    if body.node_id is not None:
        check_node_id(body.node_id, field="node_id")
    endpoint = connections.proposed_opcua_endpoint(ctx.conn, ctx.tenant_id, machine_id, body.endpoint, _keys(ctx))
    return browse_endpoint(endpoint, body.node_id)


@router.delete("/{machine_id:uuid}/connection", permission=MANAGE, status_code=204)
def delete_connection(ctx: Context, machine_id: UUID) -> None:
    """Remove a machine's connection settings: the poller stops polling it."""
    before = connections.delete_connection(ctx.conn, ctx.tenant_id, machine_id)
    ctx.audit("delete", "machine_connection", machine_id,
              before=connections.connection_out(before).model_dump(mode="json", exclude={"health"}))
    _renew_live(ctx)
