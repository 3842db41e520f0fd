"""The Quality screen at 80×24 against the real server: an operator opens an NC at the terminal; a plant
manager closes one with the signature dialog (a wrong password first, shown at the field); CAPAs show
their steps and approvals."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from tests.nonconformances.support import CAPA, disposition, ok, open_nc, quality_plant, signature
from tests.tui.pilot import fill, settle, signed_in, text_of, until
from tui.screens.quality_forms import NcForm
from tui.screens.quality_list import QualityScreen
from tui.screens.signature_dialog import SignatureDialog


async def quality_screen(pilot, email: str, password: str) -> QualityScreen:
    await signed_in(pilot, email, password)
    await pilot.press("q")
    await until(pilot, lambda: isinstance(pilot.app.screen, QualityScreen), what="quality screen")
    return pilot.app.screen


async def test_an_operator_opens_an_nc_at_the_terminal(app_factory, api) -> None:
    p = quality_plant(api)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.operator.email, p.operator.password)
        table = screen.query_one("#q-table", DataTable)
        await settle(pilot)
        assert table.row_count == 0 and "Nothing here yet" in text_of(pilot, "#q-detail")
        # An operator neither decides nor signs: those keys are not theirs.
        assert screen.check_action("disposition", ()) is False and screen.check_action("sign", ()) is False
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, NcForm), what="NC form")
        form = app.screen
        await fill(pilot, "#nc-quantity", "0")
        await pilot.press("ctrl+s")
        assert "Choose the machine" in str(form.query_one("#nc-machine-error").render())
        form.query_one("#nc-machine", Select).value = p.machine["id"]
        await pilot.press("ctrl+s")
        assert "more than 0" in str(form.query_one("#nc-quantity-error").render())
        await fill(pilot, "#nc-quantity", "3")
        await fill(pilot, "#nc-description", "Kratzer auf der Sichtseite")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen) and table.row_count == 1, what="listed")
        await until(pilot, lambda: screen.nc is not None, what="detail")
        row = table.get_row_at(0)
        assert row[:4] == ["NC-0001", "open", p.machine["code"], "3"]
        assert "Kratzer auf der Sichtseite" in text_of(pilot, "#q-detail")
        assert "by Sam Staff" in text_of(pilot, "#q-detail")


async def test_a_manager_closes_an_nc_with_the_signature_dialog(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"], description="Bohrung zu groß")
    disposition(api, p.supervisor, nc["id"], "scrap")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.manager.email, p.manager.password)
        await until(pilot, lambda: screen.nc is not None and screen.nc.status == "dispositioned", what="NC")
        assert "F6 closes it" in text_of(pilot, "#q-detail")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SignatureDialog), what="signature dialog")
        dialog = app.screen
        assert len(dialog.query("#sig-totp")) == 0  # not enrolled: no code asked
        await fill(pilot, "#sig-password", "not the password")
        await pilot.press("enter")
        await until(pilot, lambda: "not right" in str(dialog.query_one("#sig-password-error").render()),
                    what="refusal at the password")
        assert dialog.query_one("#sig-password", Input).value == ""
        await fill(pilot, "#sig-password", p.manager.password)
        await fill(pilot, "#sig-reason", "Maß geprüft")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen), what="back on the list")
        await until(pilot, lambda: screen.nc is not None and screen.nc.status == "closed", what="closed")
        detail = text_of(pilot, "#q-detail")
        assert "✍ Sam Staff, approved" in detail and "Maß geprüft" in detail and "· valid" in detail
        assert "CET" in detail  # the site's clock (Europe/Berlin)
        app.save_screenshot("quality_nc_closed.svg", path=str(pytest_tmp()))
    shown = ok(api.get(f"/api/v1/nonconformances/{nc['id']}", headers=p.owner.headers))
    assert shown["status"] == "closed" and shown["signatures"][0]["reason"] == "Maß geprüft"


async def test_capas_show_their_steps_and_approvals(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    capa = ok(api.post(CAPA, json={"title": "Scratches", "problem": "Scratches at packing",
                                   "nonconformance_ids": [nc["id"]], "containment": "Sort the stock"},
                       headers=p.supervisor.headers), 201)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.manager.email, p.manager.password)
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: screen.capa is not None, what="CAPA detail")
        assert screen.query_one("#q-table", DataTable).get_row_at(0)[0] == capa["code"]
        assert "[containment] ready to approve" in text_of(pilot, "#q-detail")
        assert "Next: F6 approves containment with your signature." in text_of(pilot, "#q-detail")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SignatureDialog), what="signature dialog")
        await fill(pilot, "#sig-password", p.manager.password)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.capa is not None and screen.capa.steps[0].approved, what="approved")
        assert "[containment] ✔ approved" in text_of(pilot, "#q-detail")


def pytest_tmp():
    import tempfile

    return tempfile.gettempdir()


async def test_two_wrong_passwords_in_the_dialog_end_the_session(app_factory, api) -> None:
    from tui.screens.login import LoginScreen

    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    disposition(api, p.supervisor, nc["id"], "rework")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.manager.email, p.manager.password)
        await until(pilot, lambda: screen.nc is not None, what="NC")
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, SignatureDialog), what="signature dialog")
        dialog = app.screen
        for guess in ("guess one", "guess two"):
            await fill(pilot, "#sig-password", guess)
            await pilot.press("enter")
            await until(pilot, lambda: not dialog.busy, what="answer")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), what="signed out")
        await until(pilot, lambda: any("ended this session" in str(n.message) for n in app._notifications),
                    what="why")


async def test_an_approval_voided_by_a_later_change_shows_as_no_longer_valid(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    capa = ok(api.post(CAPA, json={"title": "Scratches", "problem": "Scratches at packing",
                                   "nonconformance_ids": [nc["id"]], "containment": "Sort the stock"},
                       headers=p.supervisor.headers), 201)
    ok(api.post(f"{CAPA}/{capa['id']}/approve", headers=p.manager.headers,
                json={"step": "containment", "signature": signature(p.manager, reason="Stock sorted")}))
    # The containment is rewritten after its approval: the signature no longer covers what is there.
    ok(api.patch(f"{CAPA}/{capa['id']}", json={"containment": "Sort the stock and the parts at the customer"},
                 headers=p.supervisor.headers))
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.manager.email, p.manager.password)
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: screen.capa is not None, what="CAPA detail")
        detail = " ".join(text_of(pilot, "#q-detail").split())
        assert "[containment] ready to approve" in detail  # approved no more
        assert "Stock sorted · NO LONGER VALID: changed since signed" in detail
        assert "· valid" not in detail


async def test_the_owner_of_a_capa_cannot_approve_it_a_second_person_signs(app_factory, api) -> None:
    p = quality_plant(api)
    nc = open_nc(api, p.operator, p.machine["id"])
    capa = ok(api.post(CAPA, json={"title": "Scratches", "problem": "Scratches at packing", "owner_id": p.manager.user_id,
                                   "nonconformance_ids": [nc["id"]], "containment": "Sort the stock"},
                       headers=p.supervisor.headers), 201)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.manager.email, p.manager.password)
        await settle(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: screen.capa is not None, what="CAPA detail")
        assert "Next: containment needs a second person's approval: you own this CAPA." in " ".join(
            text_of(pilot, "#q-detail").split())
        await pilot.press("f6")  # the server has the last word: the dialog says why nothing was signed
        await until(pilot, lambda: isinstance(app.screen, SignatureDialog), what="signature dialog")
        dialog = app.screen
        await fill(pilot, "#sig-password", p.manager.password)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "second person" in str(dialog.query_one("#sig-error").render()),
                    what="refusal in the dialog")
        assert isinstance(app.screen, SignatureDialog)  # nothing signed: the dialog stays for another signer
    shown = ok(api.get(f"{CAPA}/{capa['id']}", headers=p.owner.headers))
    assert shown["steps"][0]["approved"] is False and shown["steps"][0]["signatures"] == []


async def test_an_operator_opens_an_nc_from_a_rejection_with_one_key(app_factory, api) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.production import plant
    from tui.screens.quality_rejections import RejectionPicker

    p = quality_plant(api)
    plant.shift(api, p.owner, p.site["id"], "Day", "00:00", "00:00")  # 24 h: rejections can be booked
    plant.operator(api, p.owner, p.site["id"], p.operator.user_id)
    reasons = {r["code"]: r for r in api.get("/api/v1/downtime/reasons", headers=p.owner.headers).json()["items"]}
    for minutes, qty, note in ((30, 2, None), (5, 6, "flange")):  # the newest is listed first
        ok(api.post("/api/v1/rejections", headers=p.operator.headers, json={
            "machine_id": p.machine["id"], "quantity": qty, "reason_id": reasons["DEFECT.DIMENSION"]["id"],
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(), "note": note}), 201)
    reason = reasons["DEFECT.DIMENSION"]["name"]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await quality_screen(pilot, p.operator.email, p.operator.password)
        table = screen.query_one("#q-table", DataTable)
        await settle(pilot)
        assert screen.check_action("from_rejection", ()) is True
        assert "F7: NC from scrap" in text_of(pilot, "#q-title")
        await pilot.press("f7")
        await until(pilot, lambda: isinstance(app.screen, RejectionPicker), what="the rejections")
        picker = app.screen
        rows = picker.query_one("#rj-table", DataTable)
        await until(pilot, lambda: rows.row_count == 2, what="listed")
        assert [rows.get_row_at(i)[1:] for i in range(2)] == [[p.machine["code"], "6", f"{reason} · flange"],
                                                              [p.machine["code"], "2", reason]]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QualityScreen) and table.row_count == 1, what="the NC")
        await until(pilot, lambda: screen.nc is not None, what="detail")
        assert table.get_row_at(0)[:4] == ["NC-0001", "open", p.machine["code"], "6"]
        assert f"Rejected: {reason} (flange)" in text_of(pilot, "#q-detail")
    [nc] = api.get("/api/v1/nonconformances", headers=p.owner.headers).json()["items"]
    assert (nc["source"], nc["reported_by"]) == ("rejection", p.operator.user_id)
