"""Admin › Sign-in at 80×24 with a SAML 2.0 provider, against the real server and the real test
IdP (pysaml2, tests/sso/saml_idp.py): S adds one by metadata URL with its attribute mapping and
rules; the form then shows our SP metadata address (which serves our metadata); unusable pasted
metadata is refused at its field; Test says the certificate dates in words, valid or expired."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.widgets import DataTable, Static, TextArea

from tests.accounts import new_company
from tests.sso.saml_idp import SamlIdp, start_idp
from tests.tui.pilot import fill, signed_in, text_of, until
from tui.screens.admin import AdminScreen
from tui.screens.sso_admin import SsoProviderForm, SsoTestDialog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def idps() -> Iterator[tuple[SamlIdp, SamlIdp]]:
    good, old = start_idp(), start_idp(expired_cert=True)
    yield good, old
    good.stop()
    old.stop()


def _inside(widget, width: int = 80, height: int = 24) -> bool:
    r = widget.region
    return r.width > 0 and r.right <= width and r.bottom <= height


async def _open_form_and_save(pilot, app) -> None:
    await pilot.press("ctrl+s")
    await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="form closed")


async def test_admin_adds_a_saml_provider_shows_our_metadata_and_tests_it(app_factory, api: httpx.Client,
                                                                          idps) -> None:
    good, old = idps
    domain = f"saml-tui-{uuid.uuid4().hex[:8]}.example.com"
    owner = new_company(api, email=f"owner@{domain}")
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await signed_in(pilot, owner.email, owner.password)
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="admin screen")
        await pilot.press("f4")
        table = app.screen.query_one("#sso-table", DataTable)

        # S: a SAML provider. Pasted text that is not metadata is refused at the XML field first.
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SsoProviderForm), what="SAML form")
        form = app.screen
        assert "SAML" in text_of(pilot, ".dialog-title")
        assert "once the provider is saved" in text_of(pilot, "#sso-sp")
        assert form.query_one("#f-signed").value is True and form.query_one("#f-signed").disabled
        await fill(pilot, "#f-name", "Plant AD FS")
        await fill(pilot, "#f-domains", domain)
        form.query_one("#f-md-xml", TextArea).text = "<html>not metadata</html>"
        await pilot.press("ctrl+s")
        error = form.query_one("#err-md-xml", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="metadata error at the field")
        assert "metadata" in str(error.render()).lower()
        assert _inside(error)

        # A URL that does not answer: the server's refusal is shown at the URL field.
        form.query_one("#f-md-xml", TextArea).text = ""
        await fill(pilot, "#f-md-url", "http://127.0.0.1:9/metadata")
        await pilot.press("ctrl+s")
        url_error = form.query_one("#err-md-url", Static)
        await until(pilot, lambda: url_error.has_class("-shown"), what="URL error at the field")
        assert "cannot be reached" in str(url_error.render())

        await fill(pilot, "#f-md-url", good.metadata_url)
        await fill(pilot, "#f-email-attr", "email")
        await fill(pilot, "#f-groups-attr", "groups")
        form.query_one("#f-rules", TextArea).text = "mes-supervisors = supervisor\nmes-operators = operator"
        await _open_form_and_save(pilot, app)
        await until(pilot, lambda: table.row_count == 1, what="the provider listed")
        assert "SAML" in str(table.get_row_at(0))

        # Enter: the form now shows our SP metadata address and the IdP the metadata names.
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SsoProviderForm), what="edit form")
        sp_line = text_of(pilot, "#sso-sp")
        saved = api.get("/api/v1/sso/providers", headers=owner.headers).json()["items"][0]
        assert saved["sp"]["metadata_url"] in sp_line.replace("\n", "")
        assert saved["sp"]["metadata_url"].endswith(f"/{owner.tenant_id}/{saved['id']}/metadata")
        assert good.entity_id in text_of(pilot, "#sso-idp")
        assert _inside(app.screen.query_one("#sso-sp")) and _inside(app.screen.query_one("#f-name"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AdminScreen), what="form closed")
        ours = api.get(saved["sp"]["metadata_url"])
        assert ours.status_code == 200 and saved["sp"]["entity_id"] in ours.text

        # T: the metadata read and the certificate's end date, in words.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SsoTestDialog), what="test dialog")
        result = lambda: text_of(pilot, "#sso-test-result")  # noqa: E731
        await until(pilot, lambda: "✓" in result() or "✗" in result(), what="test result")
        assert "✓ Plant AD FS: metadata read" in result()
        assert "certificate valid until " in result() and good.entity_id in result()
        assert _inside(app.screen.query_one("#sso-test-result"))
        await pilot.press("escape")

        # An IdP whose certificate has ended, imported from a file: Test says it expired.
        path = Path(tempfile.mkdtemp(prefix="factoryos-saml-")) / "old-idp.xml"
        path.write_text(old.metadata())
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SsoProviderForm), what="SAML form")
        await fill(pilot, "#f-name", "Old IdP")
        await fill(pilot, "#f-md-file", str(path))
        await _open_form_and_save(pilot, app)
        await until(pilot, lambda: table.row_count == 2, what="two providers")
        row = next(i for i in range(table.row_count) if "Old IdP" in str(table.get_row_at(i)))
        table.move_cursor(row=row)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SsoTestDialog), what="test dialog")
        await until(pilot, lambda: "✓" in result() or "✗" in result(), what="test result")
        assert "✗" in result() and "certificate expired on " in result()
    providers = {p["name"]: p for p in api.get("/api/v1/sso/providers", headers=owner.headers).json()["items"]}
    assert providers["Plant AD FS"]["config"]["idp_metadata_url"] == good.metadata_url
    assert [(r["group"], r["role"]) for r in providers["Plant AD FS"]["rules"]] == [
        ("mes-supervisors", "supervisor"), ("mes-operators", "operator")]
    assert providers["Old IdP"]["config"]["idp_metadata_url"] is None
    assert providers["Old IdP"]["config"]["idp_metadata_xml"].strip() == old.metadata().strip()
