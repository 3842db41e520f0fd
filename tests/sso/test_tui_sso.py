"""The TUI at 80×24: the sign-in screen adapts to the email's company (a directory uses the
password field and says whose password), and Admin › Sign-in adds a directory, tests it and
shows what it found, in words."""

from __future__ import annotations

from textual.widgets import DataTable, Static, TextArea

from tests.sso.slapd import PASSWORDS, SERVICE_PW, Slapd, add_people, ldap_config
from tests.sso.support import plant_with_directory
from tests.tui.pilot import fill, noted, signed_in, text_of, until
from tui.screens.admin import AdminScreen
from tui.screens.home import HomeScreen
from tui.screens.sso_admin import SsoProviderForm, SsoTestDialog, parse_rules


async def test_sign_in_screen_names_the_directory_and_signs_its_people_in(app_factory, api, slapd: Slapd) -> None:
    plant = plant_with_directory(api, slapd)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await fill(pilot, "#email", plant.people.ada)
        await fill(pilot, "#password", "")  # leaving the email field asks the server about it
        methods = app.screen.query_one("#sso-methods")
        await until(pilot, lambda: methods.has_class("-shown"), what="company sign-in line")
        note = text_of(pilot, "#sso-note")
        assert plant.provider["name"] in note and "password" in note
        assert methods.region.bottom <= 24 and app.screen.query_one("#sign-in").region.bottom <= 24
        await fill(pilot, "#password", PASSWORDS["ada"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home screen")
        assert app.session.me.role == "supervisor"
        assert "Supervisor" in text_of(pilot, "#home-who")


async def test_admin_adds_a_directory_tests_it_and_edits_its_rules(app_factory, api, slapd: Slapd) -> None:
    plant = plant_with_directory(api, slapd)
    people = add_people(slapd, plant.people.tag + "b")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, plant.owner.email, plant.owner.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin screen")
        await pilot.press("f4")
        table = app.screen.query_one("#sso-table", DataTable)
        await until(pilot, lambda: table.row_count == 1, what="provider list")
        assert plant.provider["name"] in str(table.get_row_at(0))

        # Add a second directory for another domain, with a CA file and a rule; a bad rule first.
        ca = slapd_ca_file(slapd)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, SsoProviderForm), what="provider form")
        await until(pilot, lambda: app.focused is app.screen.query_one("#f-name"), what="cursor in Name")
        config = ldap_config(slapd)
        for key, value in (("name", "Second AD"), ("domains", people.domain), ("urls", slapd.ldaps_url),
                           ("ca-file", str(ca)), ("bind-dn", config["bind_dn"]), ("secret", SERVICE_PW),
                           ("user-base", config["user_base"])):
            await fill(pilot, f"#f-{key}", value)
        app.screen.query_one("#f-directory").value = "openldap"
        app.screen.query_one("#f-rules", TextArea).text = f"{people.group('operators')} = foreman"
        await pilot.press("ctrl+s")
        error = app.screen.query_one("#err-rules", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="rule error at the field")
        assert "line 1" in str(error.render())
        app.screen.query_one("#f-rules", TextArea).text = f"{people.group('operators')} = operator +reports.export"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="form closed")
        await until(pilot, lambda: table.row_count == 2, what="two providers")

        # Test it with bob: found, his group, and the role he would get.
        row = next(i for i in range(table.row_count) if "Second AD" in str(table.get_row_at(i)))
        table.move_cursor(row=row)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SsoTestDialog), what="test dialog")
        await fill(pilot, "#t-user", people.bob)
        await pilot.press("enter")
        result = lambda: text_of(pilot, "#sso-test-result")  # noqa: E731
        await until(pilot, lambda: "✓" in result() or "✗" in result(), what="test result")
        assert "Bob Operator" in result() and "operator" in result() and people.group("operators") in result()
        await pilot.press("escape")

        # An OpenID Connect provider: its settings as JSON; a wrong one is refused at the field.
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, SsoProviderForm), what="OpenID form")
        await fill(pilot, "#f-name", "Plant Keycloak")
        await fill(pilot, "#f-domains", f"idp-{people.domain}")
        settings = app.screen.query_one("#f-config", TextArea)
        settings.text = '{"issuer": "idp.plant.lan", "client_id": "factoryos"}'
        await pilot.press("ctrl+s")
        error = app.screen.query_one("#err-urls", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="settings error at the field")
        assert "https" in str(error.render())
        settings.text = '{"issuer": "https://idp.plant.lan/realms/factory", "client_id": "factoryos"}'
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="form closed")
        await until(pilot, lambda: table.row_count == 3, what="three providers")

        # Require SSO: switched on at the top of the tab, kept by the server.
        await pilot.click("#sso-require-sso")
        await noted(pilot, "Sign-in option saved")
    settings = api.get("/api/v1/sso/settings", headers=plant.owner.headers).json()
    assert settings["require_sso"] is True
    saved = [p for p in api.get("/api/v1/sso/providers", headers=plant.owner.headers).json()["items"]
             if p["name"] == "Second AD"][0]
    assert saved["rules"] == [{"position": 1, "group": people.group("operators"), "role": "operator",
                               "granted": ["reports.export"], "denied": [], "site_ids": None}]
    assert saved["config"]["ca_bundle"] == slapd.ca_pem and saved["has_secret"] is True


def slapd_ca_file(slapd: Slapd):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="factoryos-ca-")) / "plant-ca.pem"
    path.write_text(slapd.ca_pem)
    return path


def test_rules_are_written_one_a_line() -> None:
    rules = parse_rules("# who gets what\nPlant Supervisors = supervisor +reports.export -orders.act\n\nops = operator")
    assert [(r.group, r.role, r.granted, r.denied) for r in rules] == [
        ("Plant Supervisors", "supervisor", ["reports.export"], ["orders.act"]), ("ops", "operator", [], [])]
    for bad in ("no role here", "x = owner", "x = operator reports.export"):
        try:
            parse_rules(bad)
        except ValueError as exc:
            assert "line 1" in str(exc)
        else:
            raise AssertionError(bad)
