"""The demo's TUI opens signed in as the supervisor, straight on the live dashboard."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest

from factoryos.demo.credentials import DemoLogin
from factoryos.demo.dataset import PEOPLE, machine_codes
from factoryos.demo.provision import Provisioner
from factoryos.demo.simulators import SimulatorThread
from tests.conftest import free_port
from tui.app import make_app
from tui.screens.dashboard import DashboardScreen


@pytest.fixture(scope="module")
def demo_plant(live_server):
    tag = uuid.uuid4().hex[:8]
    logins = {p.key: DemoLogin(p.key, f"{p.key}-{tag}@demo.example.com", f"pw-{tag}-{p.key}", p.role, p.display_name)
              for p in PEOPLE}
    sims = SimulatorThread(len(machine_codes()), opcua_port=free_port(), modbus_port=free_port())
    configs = sims.start()
    try:
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            prov = Provisioner(http, logins)
            assert not prov.already_seeded()
            plant = prov.seed(configs)
            prov.connect(plant, configs)
            assert prov.plan(plant, date.today()) > 0
            assert prov.already_seeded()
            assert [m["code"] for m in prov.load_plant().machines] == [c for _, _, c in machine_codes()]
        yield logins, plant
    finally:
        sims.stop()


async def test_demo_tui_opens_signed_in_on_the_dashboard(live_server, demo_plant, tmp_path: Path) -> None:
    logins, plant = demo_plant
    sup = logins["supervisor"]
    app = make_app(server=live_server.url, config_path=tmp_path / "client.json", outbox_dir=tmp_path / "outbox",
                   auto_sign_in=(sup.email, sup.password), poll_seconds=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.1)
            if isinstance(app.screen, DashboardScreen) and "CNC-01" in _text(app):
                break
        assert isinstance(app.screen, DashboardScreen), type(app.screen).__name__
        assert app.session is not None and app.session.who.startswith("Sepp Supervisor")
        assert "CNC-01" in _text(app)


def _text(app) -> str:
    return app.export_screenshot()  # the SVG of what the terminal shows, text included
