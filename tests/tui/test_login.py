"""Signing in through the real login screen against the real server."""

from __future__ import annotations

from tests.tui.pilot import fill, sign_in, signed_in, text_of, until
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


async def test_lockout_says_when_to_try_again(app_factory, world, api):
    for _ in range(5):
        api.post("/api/v1/auth/login", json={"email": world.operator.email, "password": "wrong"})
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, world.password)
        await until(pilot, lambda: "Too many" in text_of(pilot, "#login-message"), what="lockout message")
        message = text_of(pilot, "#login-message")
        assert message.startswith("Too many failed sign-ins. Try again in ") and "min" in message
        assert isinstance(app.screen, LoginScreen)


async def test_two_factor_step(app_factory, world, api):
    import pyotp

    enrollment = api.post("/api/v1/auth/mfa/enroll", headers=world.operator.headers).json()
    totp = pyotp.TOTP(enrollment["secret"])
    previous = totp.generate_otp(totp.timecode(__import__("datetime").datetime.now()) - 1)
    r = api.post("/api/v1/auth/mfa/confirm", json={"code": previous}, headers=world.operator.headers)
    assert r.status_code == 200, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, world.password)
        code_field = app.screen.query_one("#totp")
        await until(pilot, lambda: code_field.has_focus, what="code field")
        assert "Two-factor" in text_of(pilot, "#login-message")
        await fill(pilot, "#totp", "000000" if totp.now() != "000000" else "111111")
        await pilot.press("enter")
        await until(pilot, lambda: "not valid" in text_of(pilot, "#login-message"), what="invalid code message")
        await fill(pilot, "#totp", totp.now())
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")


async def test_company_picker_for_members_of_two_companies(app_factory, world, api):
    from tests.accounts import new_company

    other = new_company(api)
    code = api.post("/api/v1/invites", json={"role": "supervisor"}, headers=other.headers).json()["code"]
    r = api.post("/api/v1/invites/accept", json={"code": code, "email": world.operator.email,
                                                  "password": world.password})
    assert r.status_code == 201, r.text
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot, world.operator.email, world.password)
        from tui.screens.company_picker import CompanyPicker

        await until(pilot, lambda: isinstance(app.screen, CompanyPicker), what="company picker")
        picker = app.screen
        names = [str(picker.query_one("#companies").get_option_at_index(i).prompt) for i in range(2)]
        target = next(i for i, n in enumerate(names) if "Supervisor" in n)
        for _ in range(target):
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert str(app.session.me.company.id) == other.tenant_id
        assert app.session.me.role == "supervisor"
        await pilot.pause()  # let the new screen's header finish mounting before the app exits


async def test_help_lists_the_screen_keys_and_escape_closes_it(app_factory, world):
    from tui.screens.help import HelpScreen

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, world.operator.email, world.password)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        keys = str(app.screen.query_one("#help-keys").render())
        assert "Operator input" in keys and "Sign out" in keys and "^o" in keys
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="back home")


def _invite(api, owner, role: str = "operator") -> str:
    r = api.post("/api/v1/invites", json={"role": role}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()["code"]


async def _open_join(pilot):
    from tui.screens.join import JoinScreen

    await pilot.press("f2")
    await until(pilot, lambda: isinstance(pilot.app.screen, JoinScreen), what="join screen")


async def _join(pilot, code: str, email: str, name: str, password: str, repeat: str | None = None) -> None:
    for field, value in (("#join-code", code), ("#join-email", email), ("#join-name", name),
                         ("#join-password", password), ("#join-repeat", password if repeat is None else repeat)):
        await fill(pilot, field, value)
    await pilot.press("enter")


async def test_a_new_operator_joins_with_an_invite_code(app_factory, world, api):
    from tests.accounts import new_email

    code = _invite(api, world.owner)
    email = new_email("newcomer")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_join(pilot)
        await _join(pilot, code, email, "Nina Newcomer", "a long new password", repeat="something else")
        await until(pilot, lambda: "do not match" in text_of(pilot, "#join-message"), what="mismatch message")
        assert app.screen.query_one("#join-repeat").has_focus
        await fill(pilot, "#join-repeat", "a long new password")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert app.session.me.account.email == email and app.session.me.role == "operator"
        assert app.session.me.company.id and str(app.session.me.company.id) == world.owner.tenant_id
        assert len(app.screen_stack) == 2  # home replaced sign-in: Escape cannot lead back to it
    # The new account signs in like any other, with the password it chose.
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "a long new password"}).status_code == 200


async def test_a_used_or_mistyped_code_is_named_and_nothing_is_created(app_factory, world, api):
    from tests.accounts import new_email

    code = _invite(api, world.owner)
    r = api.post("/api/v1/invites/accept", json={"code": code, "email": new_email(), "password": "a long new password",
                                                  "display_name": "First Comer"})
    assert r.status_code == 201, r.text
    email = new_email("late")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_join(pilot)
        await _join(pilot, code, email, "Late Comer", "a long new password")
        await until(pilot, lambda: "already used" in text_of(pilot, "#join-message"), what="used message")
        assert app.screen.query_one("#join-code").has_focus
        await fill(pilot, "#join-code", "NOPE-NOPE")
        await pilot.press("ctrl+s")  # Enter in the code field moves on to the next one
        await until(pilot, lambda: "not an invite code" in text_of(pilot, "#join-message"), what="bad code message")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="back to sign-in")
    assert api.post("/api/v1/auth/login", json={"email": email, "password": "a long new password"}).status_code == 401


async def test_an_existing_account_joins_a_second_company_with_its_password(app_factory, world, api):
    from tests.accounts import new_company

    other = new_company(api)
    code = _invite(api, other, "supervisor")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_join(pilot)
        await _join(pilot, code, world.operator.email, "", "not the password")
        await until(pilot, lambda: "not correct" in text_of(pilot, "#join-message"), what="wrong password")
        assert app.screen.query_one("#join-password").has_focus
        await fill(pilot, "#join-password", world.password)
        await fill(pilot, "#join-repeat", world.password)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert str(app.session.me.company.id) == other.tenant_id and app.session.me.role == "supervisor"
