"""Signing in through the real login screen against the real server."""

from __future__ import annotations

from tests.tui.pilot import fill, sign_in, text_of, until
from tui.screens.home import HomeScreen
from tui.screens.login import LoginScreen


async def test_sign_in_reaches_home_and_remembers_server(app_factory, world, live_server, tmp_path):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await sign_in(pilot, world.operator.email, world.password)
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert app.session is not None and str(app.session.me.account.id) == world.operator.user_id
        assert "Operator" in text_of(pilot, "#home-who")
    saved = (tmp_path / "client.json").read_text()
    assert live_server.url in saved and world.operator.email in saved and world.password not in saved


async def test_wrong_password_says_so_and_stays(app_factory, world):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, "not the password")
        await until(pilot, lambda: "not correct" in text_of(pilot, "#login-message"), what="error message")
        assert isinstance(app.screen, LoginScreen)
        assert text_of(pilot, "#login-message") == "Email or password is not correct."
        assert app.screen.query_one("#password").value == ""


async def test_server_unreachable_is_reported(app_factory, world):
    from tests.conftest import free_port

    app = app_factory(server=f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, world.password)
        await until(pilot, lambda: "Cannot reach" in text_of(pilot, "#login-message"), what="unreachable message")
        assert "connection refused" in text_of(pilot, "#login-message")
