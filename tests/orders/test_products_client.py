"""The typed client's product and routing methods against the real server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factoryos.client import ClientError, FactoryClient
from factoryos.orders.product_models import ProductIn, ProductPatch, RoutingIn
from tests.accounts import PASSWORD, new_company
from tests.onboarding.support import csv_bytes
from tests.production import plant


async def test_products_routing_and_imports_through_the_client(live_server, http, tmp_path) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    press = plant.machine(http, owner, site["id"], code="PRESS-1")
    async with FactoryClient(live_server.url) as api:
        await api.login(owner.email, PASSWORD)
        made = await api.create_product(ProductIn(number="P-1", name="Bracket"))
        changed = await api.update_product(made.id, ProductPatch(unit="kg"))
        assert (changed.name, changed.unit) == ("Bracket", "kg")
        routing = await api.replace_routing(made.id, RoutingIn.model_validate({"operations": [
            {"seq": 10, "name": "Press", "resources": [{"machine_id": press["id"], "rate_per_hour": 400,
                                                        "parts_per_cycle": 4}]}]}))
        assert routing.operations[0].resources[0].cycle_seconds == 36.0  # 4 parts a cycle, 400 an hour
        with pytest.raises(ClientError) as bad:
            await api.replace_routing(made.id, RoutingIn.model_validate({"operations": [
                {"seq": 10, "name": "Press", "resources": [{"machine_id": press["id"],
                                                            "cycle_seconds": Decimal(90000)}]}]}))
        assert (bad.value.code, bad.value.field) == ("invalid_cycle_time", "operations[0].resources[0].cycle_seconds")
        assert (await api.routing(made.id)).operations[0].resources[0].machine_code == "PRESS-1"

        path = tmp_path / "products.csv"
        path.write_bytes(csv_bytes([["Number", "Name"], ["P-2", "Hinge"], ["P-1", "Bracket L"]]))
        name, data = await api.load_product_file(path)
        preview = await api.import_products(data, name)
        assert [r.action for r in preview.rows] == ["create", "update"]
        done = await api.import_products(data, name, dry_run=False)
        assert (done.created, done.updated) == (1, 1)
        rows = csv_bytes([["Product", "Op", "Operation", "Machine", "Cycle"], ["P-2", "10", "Press", "PRESS-1", "8"]])
        assert (await api.import_routings(rows, "r.csv", dry_run=False)).product_numbers == ["P-2"]
        page = await api.products(q="P-")
        assert [(p.number, p.operation_count) for p in page.items] == [("P-1", 1), ("P-2", 1)]
        assert (await api.product_import_limits(routings=True)).required == ["product_number", "seq", "operation"]
        await api.delete_product(page.items[1].id)
        assert [p.number for p in (await api.products()).items] == ["P-1"]
