"""The poller's id for a machine of a company: `<tenant uuid>/<machine uuid>`.

Events carry only this id through the spool, so the sink knows which company's
transaction stores them even after a restart or once the settings are gone.
"""

from __future__ import annotations

from uuid import UUID


def poll_id(tenant_id: UUID, machine_id: UUID) -> str:
    return f"{tenant_id}/{machine_id}"


def parse_poll_id(value: str) -> tuple[UUID, UUID] | None:
    """(tenant, machine), or None for an id that is not of this form."""
    tenant, _, machine = value.partition("/")
    try:
        return UUID(tenant), UUID(machine)
    except ValueError:
        return None
