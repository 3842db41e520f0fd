"""Admin → Edges (F11) and MQTT (F3) against the real server: register an edge and use what is shown
once, refusals at the field, rotate and revoke with a confirmation; publishing settings, a test and
stopping."""

from __future__ import annotations

from textual.widgets import DataTable, Select

from tests.production import plant
from tests.tui.pilot import fill, noted, text_of, until
from tests.tui.test_admin import open_admin
from tui.screens.admin import AdminScreen
from tui.screens.confirm import Confirm
from tui.widgets.edges_pane import EdgeForm, EdgeSecretDialog
from tui.widgets.field_error import FieldError
from tui.widgets.mqtt_publish_pane import MqttPublishForm


def _error(pilot, ident: str) -> str:
    line = pilot.app.screen.query_one(f"#{ident}-error", FieldError)
    return str(line.render()) if line.has_class("-shown") else ""


async def _edges(pilot, world) -> DataTable:
    screen = await open_admin(pilot, world)
    await pilot.press("f11")
    table = screen.query_one("#edges-table", DataTable)
    await until(pilot, lambda: "N registers" in text_of(pilot, "#edges-summary"), what="edges loaded")
    return table


async def _register(pilot, world, name: str) -> EdgeSecretDialog:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, EdgeForm), what="edge form")
    pilot.app.screen.query_one("#e-site", Select).value = world.site["id"]
    await fill(pilot, "#e-name", name)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(pilot.app.screen, EdgeSecretDialog), what="credentials shown")
    return pilot.app.screen


async def test_register_an_edge_whose_token_works_then_rotate_and_revoke(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _edges(pilot, world)
        assert "No edges yet" in text_of(pilot, "#edges-summary")
        shown = await _register(pilot, world, "Hall 2 edge")
        token, secret = shown.edge.token, shown.edge.secret
        assert token in text_of(pilot, "#edge-token") and secret in text_of(pilot, "#edge-secret")
        assert any("not shown again" in str(w.render()) for w in shown.query("Static"))
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 1, what="edge listed")
        assert table.get_row_at(0)[:2] == ["Main plant", "Hall 2 edge"]
        assert str(table.get_row_at(0)[2]).startswith("in force")
        config = api.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {token}"})
        assert config.status_code == 200 and config.json()["site_id"] == world.site["id"]

        table.focus()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="rotate asked")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, EdgeSecretDialog), what="new credentials")
        new_token = app.screen.edge.token
        assert new_token != token and "old credentials stopped" in text_of(pilot, ".hint:last-of-type")
        await pilot.press("escape")
        assert api.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert api.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200

        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back on the list")
        table.focus()
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="revoke asked")
        await pilot.press("n")  # changed their mind: nothing happens
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="back on the list")
        assert api.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="revoke asked again")
        await pilot.press("y")
        await until(pilot, lambda: str(table.get_row_at(0)[2]).startswith("revoked"), what="shown revoked")
        assert api.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
        assert "0 edges in force" in text_of(pilot, "#edges-summary")


async def test_refusals_are_said_at_the_field(app_factory, world, api):
    plant.site(api, world.owner, timezone="UTC", name="Second plant")  # two sites: the form asks which
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await _edges(pilot, world)
        await _register(pilot, world, "Press edge")
        await pilot.press("escape")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, EdgeForm), what="edge form")
        await pilot.press("ctrl+s")  # nothing chosen
        assert "Choose the site" in _error(pilot, "e-site")
        app.screen.query_one("#e-site", Select).value = world.site["id"]
        await pilot.press("ctrl+s")
        assert "Give the edge a name" in _error(pilot, "e-name") and not _error(pilot, "e-site")
        await fill(pilot, "#e-name", "Press edge")  # taken at this site: the server says so, at the name
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "already has an edge named" in _error(pilot, "e-name"), what="server refusal")
        assert isinstance(app.screen, EdgeForm)  # what was typed stays
        assert app.screen.query_one("#e-name").has_class("-invalid")


async def test_mqtt_publishing_settings_health_test_and_stop(app_factory, world, api):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_admin(pilot, world)
        await pilot.press("f3")
        await until(pilot, lambda: "Not publishing" in text_of(pilot, "#mqtt-summary"), what="nothing set up")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, MqttPublishForm), what="settings form")
        await fill(pilot, "#m-url", "broker.plant.lan")
        await pilot.press("ctrl+s")
        assert "mqtt://host:port" in _error(pilot, "m-url")
        await fill(pilot, "#m-url", "mqtt://127.0.0.1:1")  # nobody listens there
        await fill(pilot, "#m-oee", "2")
        await pilot.press("ctrl+s")
        assert "from 5 to 3600" in _error(pilot, "m-oee") and not _error(pilot, "m-url")
        await fill(pilot, "#m-oee", "30")
        await fill(pilot, "#m-prefix", "bad prefix!")  # the API's rule, said at the field
        await pilot.press("ctrl+s")
        await until(pilot, lambda: _error(pilot, "m-prefix") != "", what="prefix refused")
        await fill(pilot, "#m-prefix", "plant-a")
        await fill(pilot, "#m-password", "broker-pass")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="saved")
        table = screen.query_one("#mqtt-table", DataTable)
        await until(pilot, lambda: table.row_count > 0, what="settings shown")
        broker = str(table.get_row("Broker")[1])
        assert "mqtt://127.0.0.1:1" in broker and "password set" in broker
        assert "plant-a/<site>" in str(table.get_row("JSON topics")[1])
        stored = api.get("/api/v1/integrations/mqtt-publish", headers=world.owner.headers).json()
        assert stored["topic_prefix"] == "plant-a" and stored["oee_seconds"] == 30 and stored["password_set"]

        await pilot.press("t")
        said = await noted(pilot, "Test failed", timeout=30)
        assert "127.0.0.1" in said or "refused" in said.lower() or "reach" in said.lower(), said

        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="stop asked")
        await pilot.press("y")
        await until(pilot, lambda: "Not publishing" in text_of(pilot, "#mqtt-summary"), what="stopped")
        assert api.get("/api/v1/integrations/mqtt-publish", headers=world.owner.headers).status_code == 404
