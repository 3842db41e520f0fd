"""A three-level genealogy whose good parts a simulated PLC counted, traced both ways.

Two machines are wired over the real API to a Modbus TCP simulator on loopback and read by the
real poller. Order 1 makes sub-assemblies (SUB) on machine 1 from a supplier's steel lot, scanned
from its GS1 label and backflushed by BOM; order 2 makes housings (HSG) on machine 2 from the SUB
lot. Nobody types a good count: each operation completes with what its machine's PLC counted,
and the completion makes the order's lot from it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from factoryos.connectivity.runtime import PollerRuntime
from factoryos.connectivity.simulator import Simulator
from tests.connectivity.plant_wiring import connect, disconnect
from tests.connectivity.support import free_port
from tests.materials import materials_support as ms
from tests.materials import plc_support as plc
from tests.materials.plc_support import plc_client, runtime  # noqa: F401  (fixtures, used by name)
from tests.orders import order_support

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

GTIN = "09506000134352"


def _orders(api, owner, app_engine, site):
    m1, m2 = site.machines
    wh = ms.warehouse(api, owner, site.site["id"])
    steel = ms.item(api, owner, number="RM-STEEL", name="Steel sheet", unit="kg", gtin=GTIN, has_expiry=True)
    sub = plc.routed_product(app_engine, owner, m1, "SUB-10", "Sub-assembly")
    hsg = plc.routed_product(app_engine, owner, m2, "HSG-100", "Housing")
    sub_item = ms.item(api, owner, number="SUB-10", name="Sub-assembly", kind="product", product_id=sub["id"])
    ms.bom(api, owner, sub["id"], [(steel["id"], "2", "5")])  # 2 kg a part, 5 % scrap allowance
    ms.bom(api, owner, hsg["id"], [(sub_item["id"], "1", "0")])
    steel_lot = ms.lot(api, owner, steel["id"], number="S-100", supplier="Acme Steel", supplier_lot="A-77",
                       expires_on="2030-01-31")
    ms.receive(api, owner, steel["id"], steel_lot["id"], "500", wh["id"])
    orders = []
    for product in (sub, hsg):
        order = order_support.create(api, owner, product_id=product["id"], product=product["name"], quantity=12)
        ms.ok(order_support.set_status(api, owner, order["id"], "released"))
        orders.append(order)
    return {"steel_lot": steel_lot, "orders": orders}


async def test_three_levels_counted_by_the_plc_and_traced_both_ways(api, owner, app_engine, superuser_engine,
                                                                     runtime: PollerRuntime,  # noqa: F811
                                                                     plc_client) -> None:  # noqa: F811
    site = plc.shop(api, owner, machines=2)
    m1, m2 = site.machines
    p = _orders(api, owner, app_engine, site)
    sub_order, hsg_order = p["orders"]
    client, headers = plc_client, owner.headers

    async def scan(machine, code: str) -> dict:
        r = await client.post(f"{ms.M}/machines/{machine['id']}/scan", json={"code": code}, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    async def trace(direction: str, lot: str) -> dict:
        r = await client.get(f"/api/v1/trace/{direction}", params={"lot": lot}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    async def made_by(order) -> dict:
        r = await client.get(f"{ms.M}/lots", params={"job_id": order["id"]}, headers=headers)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 1, r.text  # the completion made the order's one lot
        return r.json()["items"][0]

    async with Simulator(2, protocol="modbus", seed=24, opcua_port=free_port(), modbus_port=free_port(),
                         tick=None) as sim:
        line = plc.Line(site, sim, runtime, client, superuser_engine)
        await connect(client, site, sim)
        try:
            await runtime.reload()
            await line.read(0)  # the baselines: what the PLCs made before is not counted
            await line.read(1)

            # Level 2: the steel lot scanned from its GS1 label at machine 1 (loaded, not yet consumed),
            # then machine 1's PLC counts 12 good parts and 1 reject for the SUB order.
            await line.start(0, sub_order["operations"][0]["id"])
            loaded = await scan(m1, f"]d201{GTIN}17300131" + "10S-100")
            assert (loaded["lot"]["number"], loaded["movements"]) == ("S-100", [])
            await line.make(0, good=12, reject=1)
            done = await line.complete(0)
            assert (done["end_kind"], done["good"], done["scrap"]) == ("completed", 12, 1)
            sub_lot = await made_by(sub_order)
            assert (sub_lot["item_number"], Decimal(sub_lot["quantity"]), sub_lot["origin"]) == (
                "SUB-10", 12, "production")

            # Level 1: the SUB lot scanned at machine 2 by its number, then machine 2's PLC counts
            # 9 good housings and 2 rejects.
            await line.start(1, hsg_order["operations"][0]["id"])
            assert (await scan(m2, sub_lot["number"]))["movements"] == []
            await line.make(1, good=9, reject=2)
            done = await line.complete(1)
            assert (done["end_kind"], done["good"], done["scrap"]) == ("completed", 9, 2)
            hsg_lot = await made_by(hsg_order)
            assert (hsg_lot["item_number"], Decimal(hsg_lot["quantity"])) == ("HSG-100", 9)

            # Backward from the housings: both levels below, with what each link consumed. Steel: 2 kg a
            # good part × 12 × 1.05 allowance; SUB: one per good housing. The rejects consume nothing.
            back = await trace("backward", hsg_lot["number"])
            assert (back["levels"], back["lots"], back["truncated"]) == (2, 3, False)
            number = {d["lot_id"]: d["lot_number"] for d in back["details"]}
            assert [(n["level"], number[n["lot_id"]], Decimal(n["quantity"]) if n["quantity"] else None)
                    for n in back["nodes"]] == [(0, hsg_lot["number"], None), (1, sub_lot["number"], 9),
                                                (2, "S-100", Decimal("25.2"))]
            steel = next(d for d in back["details"] if d["lot_number"] == "S-100")
            assert (steel["supplier"], steel["supplier_lot"], steel["order_number"]) == ("Acme Steel", "A-77", None)
            made = {d["lot_number"]: (d["order_number"], d["machine_code"], Decimal(d["lot_quantity"]))
                    for d in back["details"] if d["order_number"]}
            assert made == {sub_lot["number"]: (sub_order["job_number"], m1["code"], 12),
                            hsg_lot["number"]: (hsg_order["job_number"], m2["code"], 9)}
            assert back["suppliers"] == ["Acme Steel"]
            assert back["orders"] == sorted([sub_order["job_number"], hsg_order["job_number"]])
            assert back["machines"] == sorted([m1["code"], m2["code"]])

            # Forward from the supplier's lot: the same chain the other way.
            fwd = await trace("forward", "S-100")
            number = {d["lot_id"]: d["lot_number"] for d in fwd["details"]}
            assert [(n["level"], number[n["lot_id"]], Decimal(n["quantity"]) if n["quantity"] else None)
                    for n in fwd["nodes"]] == [(0, "S-100", None), (1, sub_lot["number"], Decimal("25.2")),
                                               (2, hsg_lot["number"], 9)]
            assert fwd["machines"] == back["machines"] and fwd["orders"] == back["orders"]

            # The stock agrees: 25.2 kg of steel left the warehouse, 3 sub-assemblies are left.
            r = await client.get(f"{ms.M}/stock", params={"lot_id": p["steel_lot"]["id"]}, headers=headers)
            assert [(s["location_code"], Decimal(s["quantity"])) for s in r.json()["items"]] == [
                ("WH1", Decimal("474.8"))]
            r = await client.get(f"{ms.M}/stock", params={"lot_id": sub_lot["id"]}, headers=headers)
            assert sum(Decimal(s["quantity"]) for s in r.json()["items"]) == 3
        finally:
            await disconnect(client, site)
    with superuser_engine.connect() as conn:
        counted = conn.execute(text(
            "select machine_id::text, sum(good), sum(reject) from machine_count_buckets where machine_id in (:a, :b) "
            "group by 1"), {"a": m1["id"], "b": m2["id"]}).all()
        anomalies = conn.execute(text("select count(*) from counter_anomalies where machine_id in (:a, :b)"),
                                 {"a": m1["id"], "b": m2["id"]}).scalar_one()
    assert sorted(tuple(c) for c in counted) == sorted([(m1["id"], 12, 1), (m2["id"], 9, 2)])
    assert anomalies == 0  # every count was production within the routing's rate
