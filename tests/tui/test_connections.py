"""The machine connection form saves through the real API, shows server validation errors on
the field they name, never shows passwords, and the list shows each machine's connection."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select, Switch

from tests.tui.pilot import fill, noted, settle, signed_in, until
from tui.screens.connection_form import ConnectionForm
from tui.screens.machines import MachinesScreen


async def press_c_on(pilot, world, machine) -> None:
    """On the Machines screen (signed in first if need be), `c` on the machine's row."""
    app = pilot.app
    if not isinstance(app.screen, MachinesScreen):
        await signed_in(pilot, world.owner.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
    table = app.screen.query_one("#machines-table", DataTable)
    await until(pilot, lambda: table.row_count == 2, what="machines listed")
    table.focus()
    table.move_cursor(row=table.get_row_index(machine["id"]))
    await pilot.press("c")


async def open_connection(pilot, world, machine) -> ConnectionForm:
    await press_c_on(pilot, world, machine)
    await until(pilot, lambda: isinstance(pilot.app.screen, ConnectionForm), what="connection form")
    return pilot.app.screen


def conn_cell(pilot, machine) -> str:
    table = pilot.app.screen.query_one("#machines-table", DataTable)
    return str(table.get_row(machine["id"])[2])


async def test_edit_a_modbus_connection_and_see_the_saved_settings(app_factory, world, api):
    machine = world.machines[0]
    url = f"/api/v1/machines/{machine['id']}/connection"
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_connection(pilot, world, machine)
        await fill(pilot, "#cf-modbus-endpoint-host", "plc-7.plant.lan")
        await fill(pilot, "#cf-modbus-endpoint-port", "99999")
        # The state is bit 3 of a status word, written as PLC manuals do.
        for name, address in (("good", "10"), ("reject", "12"), ("state", "14.3")):
            await fill(pilot, f"#cf-modbus-signals-{name}-address", address)
        form.query_one("#cf-modbus-signals-good-data_type", Select).value = "uint64"
        form.query_one("#cf-modbus-signals-good-word_order", Select).value = "little"
        await fill(pilot, "#cf-modbus-signals-good-scale", "0.5")
        form.query_one("#cf-enabled", Switch).value = False
        await pilot.press("ctrl+s")

        # The server names the field: the form stays open with the cursor in it.
        assert "endpoint.port" in await noted(pilot, "Check the settings")
        port = form.query_one("#cf-modbus-endpoint-port", Input)
        assert isinstance(app.screen, ConnectionForm) and port.has_class("-invalid") and app.focused is port

        await fill(pilot, "#cf-modbus-endpoint-port", "1502")
        await pilot.press("ctrl+s")
        await noted(pilot, "Saved the connection")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")
        await until(pilot, lambda: conn_cell(pilot, machine) == "paused", what="list shows the connection")

        saved = api.get(url, headers=world.owner.headers).json()
        assert saved["protocol"] == "modbus" and saved["enabled"] is False
        assert saved["endpoint"]["host"] == "plc-7.plant.lan" and saved["endpoint"]["port"] == 1502
        good = saved["signals"]["good"]
        assert (good["address"], good["data_type"], good["word_order"], good["scale"]) == (10, "uint64", "little", 0.5)
        assert (saved["signals"]["state"]["address"], saved["signals"]["state"]["bit"]) == (14, 3)
        assert saved["signals"]["alarm"] is None

        # Opened again, the form shows what is stored.
        form = await open_connection(pilot, world, machine)
        assert form.query_one("#cf-modbus-endpoint-host", Input).value == "plc-7.plant.lan"
        assert form.query_one("#cf-modbus-signals-good-data_type", Select).value == "uint64"
        assert form.query_one("#cf-modbus-signals-state-address", Input).value == "14.3"
        assert form.query_one("#cf-enabled", Switch).value is False
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")


async def test_opcua_password_is_write_only_and_removal_stops_polling(app_factory, world, api):
    machine = world.machines[1]
    url = f"/api/v1/machines/{machine['id']}/connection"
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_connection(pilot, world, machine)
        form.query_one("#cf-protocol", Select).value = "opcua"
        await pilot.pause()
        assert not form.query_one("#cf-modbus").display and form.query_one("#cf-opcua").display
        await fill(pilot, "#cf-opcua-endpoint-url", "opc.tcp://lathe.plant.lan:4840")
        await fill(pilot, "#cf-opcua-endpoint-username", "poller")
        await fill(pilot, "#cf-opcua-endpoint-password", "s3cret-pass")
        for name in ("good", "reject", "state"):
            await fill(pilot, f"#cf-opcua-signals-{name}", f"ns=2;s=Lathe.{name}")
        await pilot.press("ctrl+s")
        await noted(pilot, "Saved the connection")
        await until(pilot, lambda: conn_cell(pilot, machine) == "reconnecting", what="list shows the connection")

        stored = api.get(url, headers=world.owner.headers)
        assert stored.json()["has_password"] is True and "s3cret-pass" not in stored.text

        form = await open_connection(pilot, world, machine)
        password = form.query_one("#cf-opcua-endpoint-password", Input)
        assert password.value == "" and "stored" in password.placeholder
        await fill(pilot, "#cf-opcua-signals-alarm", "ns=2;s=Lathe.alarm")
        await pilot.press("ctrl+s")  # the password left empty: the stored one is kept
        await noted(pilot, "Saved the connection")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")
        kept = api.get(url, headers=world.owner.headers).json()
        assert kept["has_password"] is True and kept["signals"]["alarm"] == "ns=2;s=Lathe.alarm"

        await open_connection(pilot, world, machine)
        await pilot.press("ctrl+d")
        await pilot.press("y")
        await noted(pilot, "Removed the connection")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen) and conn_cell(pilot, machine) == "none",
                    what="connection removed")
    assert api.get(url, headers=world.owner.headers).status_code == 404


async def test_operators_see_connection_health_but_cannot_edit_it(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="machines")
        table = app.screen.query_one("#machines-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, what="machines listed")
        assert conn_cell(pilot, world.machines[0]) == "none"
        table.focus()
        # Not offered to a role that cannot edit: no key in the footer, and the key does nothing.
        assert "Connection" not in [str(k.description) for k in app.screen.query("FooterKey")]
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, MachinesScreen)


async def test_a_machine_on_a_broker_is_explained_not_edited(app_factory, world, api):
    machine = world.machines[1]
    body = {"protocol": "mqtt", "enabled": False, "endpoint": {"url": "mqtt://broker.plant.lan:1883"},
            "signals": {"format": "json", "topic": "plant/line1/press", "good": "counts.good",
                        "reject": "counts.scrap", "state": "status"}}
    r = api.put(f"/api/v1/machines/{machine['id']}/connection", json=body, headers=world.owner.headers)
    assert r.status_code in (200, 201), r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await press_c_on(pilot, world, machine)
        assert "reports over MQTT" in await noted(pilot, "reports over MQTT")
        await settle(pilot)
        assert isinstance(app.screen, MachinesScreen)  # no form that cannot show it
    api.delete(f"/api/v1/machines/{machine['id']}/connection", headers=world.owner.headers)


async def test_browse_an_opcua_server_for_a_node_and_test_before_saving(app_factory, world, api):
    from factoryos.connectivity.simulator import Simulator
    from tests.connectivity.support import free_port
    from tui.screens.opcua_browse import BrowseNodes

    machine = world.machines[0]
    app = app_factory()
    async with Simulator(1, protocol="opcua", seed=3, opcua_port=free_port(), tick=None) as sim:
        plc = sim.machines[0]
        url = sim.machine_configs()[0].endpoint.url
        async with app.run_test(size=(80, 24)) as pilot:
            form = await open_connection(pilot, world, machine)
            form.query_one("#cf-protocol", Select).value = "opcua"
            await settle(pilot)
            await fill(pilot, "#cf-opcua-endpoint-url", url)

            async def open_row(name: str) -> None:
                browser = app.screen
                await until(pilot, lambda: any(n.name == name for n in browser.nodes), what=name)
                browser.query_one("#b-nodes").highlighted = next(
                    i for i, n in enumerate(browser.nodes) if n.name == name)
                await pilot.press("enter")

            form.query_one("#cf-opcua-signals-good", Input).focus()
            await pilot.press("ctrl+b")
            await until(pilot, lambda: isinstance(app.screen, BrowseNodes), what="browser")
            await open_row("Machines")
            await open_row(plc.machine_id)
            await until(pilot, lambda: "GoodCount" in [n.name for n in app.screen.nodes], what="variables")
            assert f"= {plc.good_counter} (UInt32)" in str(app.screen.query_one("#b-nodes").get_option_at_index(
                [n.name for n in app.screen.nodes].index("GoodCount")).prompt)
            await pilot.press("backspace")  # up one level, then down again
            await open_row(plc.machine_id)
            await open_row("GoodCount")
            await until(pilot, lambda: isinstance(app.screen, type(form)), what="back in the form")
            good = form.query_one("#cf-opcua-signals-good", Input)
            assert good.value == sim.opcua.node_id(plc.machine_id, "GoodCount") and app.focused is good

            await fill(pilot, "#cf-opcua-signals-reject", sim.opcua.node_id(plc.machine_id, "RejectCount"))
            await fill(pilot, "#cf-opcua-signals-state", sim.opcua.node_id(plc.machine_id, "StateCode"))
            await pilot.press("ctrl+t")
            health = form.query_one("#cf-health")
            await until(pilot, lambda: "Test ok" in str(health.render()), what="test read")
            assert f"good {plc.good_counter}, reject {plc.reject_counter}" in str(health.render())
        # Nothing was saved by browsing or testing.
        assert api.get(f"/api/v1/machines/{machine['id']}/connection", headers=world.owner.headers).status_code == 404


async def test_opcua_subscription_and_deadband_at_80_by_24(app_factory, world, api):
    machine = world.machines[1]
    url = f"/api/v1/machines/{machine['id']}/connection"
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_connection(pilot, world, machine)
        form.query_one("#cf-protocol", Select).value = "opcua"
        await settle(pilot)
        publish = form.query_one("#cf-opcua-endpoint-publishing_interval", Input)
        assert publish.disabled  # polling, the default, has no publishing interval
        await fill(pilot, "#cf-opcua-endpoint-url", "opc.tcp://mill.plant.lan:4840")
        for name in ("good", "reject", "state"):
            await fill(pilot, f"#cf-opcua-signals-{name}", f"ns=2;s=Mill.{name}")
        form.query_one("#cf-opcua-endpoint-acquisition", Select).value = "subscription"
        await settle(pilot)
        assert not publish.disabled
        await fill(pilot, "#cf-opcua-endpoint-publishing_interval", "0.01")
        await fill(pilot, "#cf-opcua-signals-deadband-state", "0.5")
        await pilot.press("ctrl+s")

        # Too short for the server: the form stays open with the cursor in the field, shown at 80×24.
        assert "endpoint.publishing_interval" in await noted(pilot, "Check the settings")
        assert publish.has_class("-invalid") and app.focused is publish
        assert publish.region.height and publish.region.bottom <= 24 and publish.region.right <= 80
        await fill(pilot, "#cf-opcua-endpoint-publishing_interval", "0.25")
        await pilot.press("ctrl+s")
        await noted(pilot, "Saved the connection")
        await until(pilot, lambda: isinstance(app.screen, MachinesScreen), what="form closed")
        stored = api.get(url, headers=world.owner.headers).json()
        assert stored["endpoint"]["acquisition"] == "subscription"
        assert stored["endpoint"]["publishing_interval"] == 0.25
        assert stored["signals"]["deadband"]["state"] == 0.5

        form = await open_connection(pilot, world, machine)  # shown as stored
        assert form.query_one("#cf-opcua-endpoint-acquisition", Select).value == "subscription"
        assert form.query_one("#cf-opcua-endpoint-publishing_interval", Input).value == "0.25"
        assert form.query_one("#cf-opcua-signals-deadband-state", Input).value == "0.5"
        await pilot.press("escape")
    api.delete(url, headers=world.owner.headers)
