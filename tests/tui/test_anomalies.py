"""Counter jumps on the Machines screen: the count, and accepting or discarding them through the real API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from textual.widgets import DataTable

from factoryos.db.tenant import tenant_transaction
from factoryos.production.anomalies import AnomalyRow, record_anomalies
from tests.accounts import PASSWORD, join, new_company
from tests.production import plant
from tests.tui.pilot import settle, signed_in, text_of, until
from tui.screens.anomalies import AnomaliesScreen
from tui.screens.confirm import Confirm
from tui.screens.machines import MachinesScreen

SEEN = datetime(2026, 3, 2, 5, 4, 3, tzinfo=UTC)  # 14:04:03 in Tokyo (UTC+9, no DST)


def _jumps(app_engine, tenant_id: str, machine_id: str) -> None:
    rows = [AnomalyRow(uuid.UUID(machine_id), signal, 100, 100 + delta, at - timedelta(seconds=1), at, delta, 3,
                       f"tui|{uuid.uuid4()}")
            for signal, delta, at in (("good", 4000, SEEN), ("reject", 70, SEEN + timedelta(minutes=5)))]
    with tenant_transaction(app_engine, uuid.UUID(tenant_id)) as conn:
        assert record_anomalies(conn, uuid.UUID(tenant_id), rows) == 2


def _statuses(api: httpx.Client, headers: dict, machine_id: str) -> dict[int, str]:
    r = api.get(f"/api/v1/machines/{machine_id}/anomalies", headers=headers)
    return {a["delta"]: a["status"] for a in r.json()["items"]}


async def _machines(pilot, table_rows: int) -> DataTable:
    await pilot.press("3")
    await until(pilot, lambda: isinstance(pilot.app.screen, MachinesScreen), what="machines")
    table = pilot.app.screen.query_one("#machines-table", DataTable)
    await until(pilot, lambda: table.row_count == table_rows, what="machines listed")
    return table


async def test_accept_and_discard_counter_jumps(app_factory, api, app_engine):
    owner = new_company(api, "Asia/Tokyo")
    site = plant.site(api, owner, timezone="Asia/Tokyo")
    machine = plant.machine(api, owner, site["id"], cycle=1, code="PRESS-J")
    _jumps(app_engine, owner.tenant_id, machine["id"])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        table = await _machines(pilot, 1)
        await until(pilot, lambda: str(table.get_row(machine["id"])[3]) == "2", what="two jumps waiting")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AnomaliesScreen), what="jumps screen")
        jumps = app.screen.query_one("#anomalies-table", DataTable)
        await until(pilot, lambda: jumps.row_count == 2, what="jumps listed")
        # Newest first, in site time.
        assert [str(c) for c in jumps.get_row_at(1)[:4]] == ["2026-03-02 14:04:03", "+4,000 good parts", "3",
                                                             "pending"]
        assert "site time Asia/Tokyo" in text_of(pilot, "#anomalies-title")

        jumps.move_cursor(row=1)
        await pilot.press("a")
        await until(pilot, lambda: jumps.row_count == 1, what="accepted jump gone from the pending list")
        assert "Accepted: +4,000 good parts" in text_of(pilot, "#anomaly-message")

        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="asked first")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, AnomaliesScreen), what="back without discarding")
        assert _statuses(api, owner.headers, machine["id"])[70] == "pending"

        # Someone else decides meanwhile: the screen says so where the decision was made.
        (other,) = [a for a in api.get(f"/api/v1/machines/{machine['id']}/anomalies",
                                       params={"status": "pending"}, headers=owner.headers).json()["items"]]
        r = api.post(f"/api/v1/machines/{machine['id']}/anomalies/{other['id']}/discard", headers=owner.headers)
        assert r.status_code == 200, r.text
        await pilot.press("a")
        await until(pilot, lambda: "someone already discarded this jump" in text_of(pilot, "#anomaly-message"),
                    what="already decided, in words")
        await until(pilot, lambda: jumps.row_count == 0, what="list loaded again")

        await pilot.press("p")
        await until(pilot, lambda: jumps.row_count == 2, what="all jumps")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines again")
        await until(pilot, lambda: str(table.get_row(machine["id"])[3]) == "", what="nothing waiting")
    assert _statuses(api, owner.headers, machine["id"]) == {4000: "accepted", 70: "discarded"}


async def test_discard_asks_first_and_operators_cannot_open(app_factory, api, app_engine):
    owner = new_company(api, "UTC")
    site = plant.site(api, owner, timezone="UTC")
    machine = plant.machine(api, owner, site["id"], cycle=1)
    operator = join(api, owner, "operator")
    _jumps(app_engine, owner.tenant_id, machine["id"])
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, operator.email, PASSWORD)
        table = await _machines(pilot, 1)
        await until(pilot, lambda: str(table.get_row(machine["id"])[3]) == "2", what="jumps shown to operators")
        # Not offered to a role that cannot decide: no key in the footer, and the key does nothing.
        assert "Jumps" not in [str(k.description) for k in app.screen.query("FooterKey")]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, MachinesScreen)

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, PASSWORD)
        await _machines(pilot, 1)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AnomaliesScreen), what="jumps screen")
        jumps = app.screen.query_one("#anomalies-table", DataTable)
        await until(pilot, lambda: jumps.row_count == 2, what="jumps listed")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="asked first")
        await pilot.press("y")
        await until(pilot, lambda: jumps.row_count == 1, what="discarded")
    assert sorted(_statuses(api, owner.headers, machine["id"]).values()) == ["discarded", "pending"]
