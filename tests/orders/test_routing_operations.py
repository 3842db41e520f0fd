"""Operations a new order gets from its product's routing (real database, plant made over HTTP)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest
from sqlalchemy import insert

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import NotFound, ValidationFailed
from factoryos.orders.products import product_by_number
from factoryos.orders.routings import operations_for_order
from factoryos.schema.orders import products, routing_operations, routing_resources
from tests.production import plant


def _product(conn, tenant: UUID, number: str) -> UUID:
    return conn.execute(insert(products).values(tenant_id=tenant, number=number, name=number)
                        .returning(products.c.id)).scalar_one()


def _op(conn, tenant: UUID, product_id: UUID, seq: int, name: str, setup: str = "0") -> UUID:
    return conn.execute(insert(routing_operations).values(
        tenant_id=tenant, product_id=product_id, seq=seq, name=name, setup_seconds=Decimal(setup))
        .returning(routing_operations.c.id)).scalar_one()


def _res(conn, tenant: UUID, op_id: UUID, cycle: str, parts: int = 1, machine=None, line=None) -> None:
    conn.execute(insert(routing_resources).values(tenant_id=tenant, operation_id=op_id, machine_id=machine,
                                                  line_id=line, cycle_seconds=Decimal(cycle), parts_per_cycle=parts))


def test_routing_is_frozen_into_operations_with_lines_expanded(api, owner, app_engine) -> None:
    site = plant.site(api, owner)
    line = plant.line(api, owner, site["id"])
    a = plant.machine(api, owner, site["id"], code="A-1", line_id=line["id"])
    b = plant.machine(api, owner, site["id"], code="B-1", line_id=line["id"])
    gone = plant.machine(api, owner, site["id"], code="C-1", line_id=line["id"])
    assert api.patch(f"/api/v1/machines/{gone['id']}", json={"status": "retired"},
                     headers=owner.headers).status_code == 200
    lathe = plant.machine(api, owner, site["id"], code="LATHE")
    tenant = UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        pid = _product(conn, tenant, "P-100")
        turn = _op(conn, tenant, pid, 20, "Turn", "90.5")
        press = _op(conn, tenant, pid, 10, "Press", "600")
        _res(conn, tenant, press, "30", machine=UUID(b["id"]))  # B's own standard beats its line's
        _res(conn, tenant, press, "12.5", parts=2, line=UUID(line["id"]))
        _res(conn, tenant, turn, "45.250000", machine=UUID(lathe["id"]))
        bare = _product(conn, tenant, "P-200")

        ops = operations_for_order(conn, tenant, pid, 500, UUID(b["id"]))
        assert [(o["seq"], o["name"], o["routing_operation_id"], o["quantity"]) for o in ops] == [
            (10, "Press", press, 500), (20, "Turn", turn, 500)]
        assert ops[0]["setup_seconds"] == Decimal("600") and ops[1]["setup_seconds"] == Decimal("90.5")
        assert sorted(ops[0]["allowed"], key=lambda x: x["machine_id"]) == sorted([
            {"machine_id": b["id"], "cycle_seconds": "30", "parts_per_cycle": 1},
            {"machine_id": a["id"], "cycle_seconds": "12.5", "parts_per_cycle": 2}],
            key=lambda x: x["machine_id"])  # the retired machine of the line is left out
        assert ops[0]["machine_id"] == UUID(b["id"])  # the given machine, as it is allowed
        assert ops[1]["allowed"] == [{"machine_id": lathe["id"], "cycle_seconds": "45.25", "parts_per_cycle": 1}]
        assert ops[1]["machine_id"] == UUID(lathe["id"])  # the only machine allowed

        # A machine the operation may not run on is not kept; two candidates leave it open.
        assert operations_for_order(conn, tenant, pid, 5, UUID(lathe["id"]))[0]["machine_id"] is None

        default = [{"seq": 10, "name": "Production", "routing_operation_id": None, "quantity": 7,
                    "setup_seconds": Decimal(0), "allowed": [], "machine_id": UUID(a["id"])}]
        assert operations_for_order(conn, tenant, bare, 7, UUID(a["id"])) == default
        assert operations_for_order(conn, tenant, None, 7, UUID(a["id"])) == default

        assert product_by_number(conn, tenant, " P-100 ")["id"] == pid
        assert product_by_number(conn, tenant, "p-100") is None

        with pytest.raises(NotFound) as missing:
            operations_for_order(conn, tenant, UUID(int=1), 1, None)
        assert missing.value.code == "product_not_found"

        only_retired = _product(conn, tenant, "P-300")
        _res(conn, tenant, _op(conn, tenant, only_retired, 10, "Stamp"), "5", machine=UUID(gone["id"]))
        with pytest.raises(ValidationFailed) as empty:
            operations_for_order(conn, tenant, only_retired, 1, None)
        assert empty.value.code == "routing_without_machine"

    with tenant_transaction(app_engine, UUID(int=2)) as conn:  # another company sees none of them
        assert product_by_number(conn, UUID(int=2), "P-100") is None
