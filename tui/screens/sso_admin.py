"""Admin › Sign-in: the company's identity providers and sign-in options.

The tab lists the providers; **A** adds an LDAP / Active Directory one, **O** an OpenID Connect
one, **S** a SAML 2.0 one, **Enter** edits, **T** tests (LDAP: finds a person with their groups and
says which role they would get; OIDC: discovery and keys; SAML: the metadata and its certificates'
dates), **Delete** removes. A SAML provider's form shows our SP metadata address for the IdP. Two switches require SSO for everyone but the owner, and two-factor sign-in for local
accounts. A line says whether SCIM provisioning is on; **R** issues or rotates its token (shown
once). The form saves itself: a refusal from the server is shown at the field it names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Select, Static, Switch, TextArea

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import ROLE_TITLES
from factoryos.sso.models import (
    MappingRuleIn,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    ProviderTestIn,
    SsoSettingsPatch,
)
from factoryos.sso.saml_metadata import MetadataInvalid
from factoryos.sso.saml_metadata import parse as parse_metadata
from factoryos.sso.scim_models import ScimStatus, ScimTokenIn
from tui.errors import describe
from tui.markup import escape
from tui.screens.confirm import Confirm
from tui.widgets.admin_tab import AdminTab
from tui.widgets.field_error import FieldError
from tui.worker_errors import ShowsWorkerErrors

MAPPED_ROLES = [r for r in ROLE_TITLES if r != "owner"]
REFUSE = "refuse"
# What an OpenID Connect provider needs at least; the Help lists the other settings.
OIDC_TEMPLATE = {"issuer": "https://", "client_id": "", "scopes": ["openid", "email", "profile", "groups"]}
# A SAML provider's attribute mapping: form field → config key (with the server's defaults).
SAML_ATTRIBUTES = (("email-attr", "email_attribute", "email"), ("name-attr", "name_attribute", "name"),
                   ("groups-attr", "groups_attribute", "groups"), ("subject-attr", "subject_attribute", ""))
_RULE = re.compile(r"^(?P<group>[^=]+?)\s*=\s*(?P<role>[a-z_]+)(?P<extra>(\s+[+-][a-z_.]+)*)\s*$")


def rules_text(provider: ProviderOut | None) -> str:
    lines = []
    for r in provider.rules if provider else []:
        extra = "".join(f" +{p}" for p in r.granted) + "".join(f" -{p}" for p in r.denied)
        lines.append(f"{r.group} = {r.role}{extra}")
    return "\n".join(lines)


def parse_rules(text: str) -> list[MappingRuleIn]:
    """One rule a line, tried in order: `group = role [+permission] [-permission]`."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _RULE.match(line.strip())
        if match is None or match["role"] not in MAPPED_ROLES:
            raise ValueError(f"line {number}: write 'group = role', the role one of {', '.join(MAPPED_ROLES)}")
        extra = match["extra"].split()
        rules.append(MappingRuleIn(group=match["group"].strip(), role=match["role"],
                                   granted=[p[1:] for p in extra if p[0] == "+"],
                                   denied=[p[1:] for p in extra if p[0] == "-"]))
    return rules


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


class SsoPane(AdminTab):
    # Short words: with Back and Help every key fits the footer at 80 columns (the tooltips say "add").
    BINDINGS = [
        Binding("a", "add", "Directory", tooltip="Add an LDAP or Active Directory provider.", id="sso-add"),
        Binding("o", "add_oidc", "OpenID", tooltip="Add an OpenID Connect provider (Entra ID, Okta, Keycloak…).",
                id="sso-add-oidc"),
        Binding("s", "add_saml", "SAML", tooltip="Add a SAML 2.0 identity provider (AD FS, Entra ID, Okta…).",
                id="sso-add-saml"),
        Binding("enter", "edit", "Edit", tooltip="Edit the selected provider and its rules.", id="sso-edit"),
        Binding("t", "test", "Test", tooltip="Try the selected provider with a person's account.", id="sso-test"),
        Binding("delete", "remove", "Remove", tooltip="Remove the selected provider.", id="sso-remove"),
        Binding("r", "scim", "SCIM", tooltip="Issue or rotate the SCIM provisioning token.", id="sso-scim"),
    ]
    DEFAULT_CSS = """
    SsoPane #sso-options { height: 3; }
    SsoPane #sso-scim-line { height: 1; padding: 0 1 0 1; }
    SsoPane #sso-options Label { height: 3; content-align: left middle; padding: 0 1 0 1; }
    SsoPane #sso-table { height: 1fr; }
    """

    def __init__(self, api: FactoryClient, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api = api
        self.providers: dict[str, ProviderOut] = {}
        self.scim: ScimStatus | None = None
        self._settling = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="sso-options"):
            yield Label("Require SSO")
            yield Switch(id="sso-require-sso", tooltip="Everyone but the owner signs in through a provider.")
            yield Label("Require 2FA for local")
            yield Switch(id="sso-require-mfa", tooltip="Password sign-ins need an authenticator code.")
        yield Static("SCIM provisioning: …", id="sso-scim-line")
        table = DataTable(id="sso-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Provider", "Kind", "Email domains", "On", "Rules")
        yield table

    @work(exclusive=True, group="sso", exit_on_error=False)
    async def load(self) -> None:
        providers, options = await self.api.sso_providers(), await self.api.sso_settings()
        self.scim = await self.api.scim_status()
        self.query_one("#sso-scim-line", Static).update(scim_line(self.scim))
        self._settling = True
        self.query_one("#sso-require-sso", Switch).value = options.require_sso
        self.query_one("#sso-require-mfa", Switch).value = options.require_mfa_local
        self.call_after_refresh(self._settled)
        table = self.query_one("#sso-table", DataTable)
        table.clear()
        self.providers = {str(p.id): p for p in providers.items}
        for p in providers.items:
            table.add_row(p.name, p.kind.upper(), ", ".join(p.email_domains) or "—", "yes" if p.enabled else "no",
                          str(len(p.rules)), key=str(p.id))

    def _settled(self) -> None:
        self._settling = False

    @on(Switch.Changed, "#sso-options Switch")
    def _option(self, event: Switch.Changed) -> None:
        if self._settling:
            return
        field = "require_sso" if event.switch.id == "sso-require-sso" else "require_mfa_local"
        self.save_option(field, event.value)

    @work(group="sso-option", exit_on_error=False)
    async def save_option(self, field: str, value: bool) -> None:
        try:
            await self.api.update_sso_settings(SsoSettingsPatch(**{field: value}))
        except ClientError as exc:
            problem = describe(exc)
            self.app.notify(problem.message, title=problem.title, severity="error")
            self.load()  # the switch goes back to what the server keeps
            return
        self.app.notify("Sign-in option saved.", title="Saved")

    def _selected(self) -> ProviderOut | None:
        table = self.query_one("#sso-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.providers.get(str(key))

    def action_add(self) -> None:
        self.app.push_screen(SsoProviderForm(self.api, None), self._saved)

    def action_add_oidc(self) -> None:
        self.app.push_screen(SsoProviderForm(self.api, None, kind="oidc"), self._saved)

    def action_add_saml(self) -> None:
        self.app.push_screen(SsoProviderForm(self.api, None, kind="saml"), self._saved)

    @on(DataTable.RowSelected, "#sso-table")
    def action_edit(self) -> None:
        provider = self._selected()
        if provider is not None:
            self.app.push_screen(SsoProviderForm(self.api, provider), self._saved)

    def _saved(self, saved: bool | None) -> None:
        if saved:
            self.load()

    def action_scim(self) -> None:
        if not self.providers:
            self.app.notify("Add the identity provider whose group rules SCIM groups follow first.",
                            title="SCIM", severity="warning")
            return
        self.app.push_screen(ScimTokenDialog(self.api, list(self.providers.values()), self.scim), self._saved)

    def action_test(self) -> None:
        provider = self._selected()
        if provider is not None:
            self.app.push_screen(SsoTestDialog(self.api, provider))

    def action_remove(self) -> None:
        provider = self._selected()
        if provider is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.remove(provider.id)

        self.app.push_screen(Confirm(f"Remove {provider.name}? Its people can no longer sign in with it "
                                     "(their accounts stay).", "Remove"), answer)

    @work(group="sso-remove", exit_on_error=False)
    async def remove(self, provider_id: UUID) -> None:
        await self.api.delete_sso_provider(provider_id)
        self.app.notify("Provider removed.", title="Removed")
        self.load()


# Server field → the form field that shows its refusal.
_FIELDS = {"name": "name", "email_domains": "domains", "config.urls": "urls", "config.bind_dn": "bind-dn",
           "config.user_base": "user-base", "config.user_filter": "user-filter", "config.group_base": "group-base",
           "config.ca_bundle": "ca-file", "config": "urls", "rules": "rules", "secret": "secret",
           "default_role": "default"}
# A SAML provider's settings are fields of their own (an LDAP one's are above, an OIDC one's one JSON).
_SAML_FIELDS = {"config": "md-url", "config.idp_metadata_url": "md-url", "config.idp_metadata_xml": "md-xml",
                "config.sp_base_url": "sp-base", "config.ca_bundle": "ca-file",
                **{f"config.{key}": field for field, key, _ in SAML_ATTRIBUTES}}


class SsoProviderForm(ShowsWorkerErrors, ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]
    HELP = """\
**Directory (LDAP / Active Directory)**: the URLs are tried in order. *Base* and *Filter*
say where and how people are found (`{email}`, `{username}`); *Bind DN* and *Bind pw* are
the service account's. Use `ldaps://` or
StartTLS; give the CA certificate file (PEM) that signed the directory's certificate. The
service account finds people; their password is checked by signing in as them.

**OpenID Connect**: *Settings* is JSON: `issuer` (the provider's URL), `client_id`, `scopes`,
and optionally `groups_claim`, `email_claim`, `name_claim`, `ca_bundle`. *Secret* is the client
secret. Terminals sign in with a code shown on screen (device sign-in).

**SAML 2.0**: give the identity provider's metadata by URL under *Metadata* (fetched again at every
save), by *File* (an XML file on this computer) or paste it under *XML*; leave all three empty to
keep the imported one. Give the identity provider our *SP metadata* address shown at the top (it
holds our entity id and where assertions are posted). Assertions must be signed: there is no
setting to turn that off. *Email*, *Name*, *Groups* name the attributes the provider sends;
*Subject* the one that identifies a person for good (empty: the persistent NameID). *Public URL*
is this server's address as browsers reach it, when it differs from the one shown.

**Rules**, one a line, first match wins: `group = role [+permission] [-permission]`, e.g.
`Plant Supervisors = supervisor +reports.export`. People in no group get the default role, or
are refused. Rules apply at each person's next sign-in.
"""
    DEFAULT_CSS = """
    SsoProviderForm #sso-form { height: 1fr; }
    SsoProviderForm TextArea { height: 5; width: 1fr; }
    """

    def __init__(self, api: FactoryClient, provider: ProviderOut | None, *, kind: str = "ldap") -> None:
        super().__init__()
        self.api, self.provider = api, provider
        self.kind = provider.kind if provider else kind

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()  # the first field, as in every other form

    def _row(self, label: str, widget: Any, key: str) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield widget
        yield FieldError(id=f"err-{key}")

    def compose(self) -> ComposeResult:
        p = self.provider
        c: dict[str, Any] = dict(p.config) if p else {}
        if p is None and self.kind == "oidc":
            c = dict(OIDC_TEMPLATE)
        title = (f"Edit {p.name}" if p else "Add a directory (LDAP / Active Directory)" if self.kind == "ldap"
                 else "Add a SAML 2.0 identity provider" if self.kind == "saml" else "Add an OpenID Connect provider")
        with Vertical(classes="dialog tall wide", id="sso-dialog"):
            yield Static(title, classes="dialog-title")
            with VerticalScroll(id="sso-form"):
                yield from self._row("Name", Input(p.name if p else "", placeholder="Plant AD", id="f-name"), "name")
                yield from self._row("Domains", Input(", ".join(p.email_domains) if p else "",
                                                            placeholder="plant.example.com", id="f-domains"),
                                     "domains")
                yield from self._row("On", Switch(p.enabled if p else True, id="f-enabled"), "enabled")
                if self.kind == "ldap":
                    yield from self._ldap_fields(c)
                elif self.kind == "saml":
                    yield from self._saml_fields(c)
                else:
                    yield from self._row("Settings", TextArea(json.dumps(c, indent=1), id="f-config"), "urls")
                    yield from self._row("Secret", Input(password=True, placeholder="empty: keep the stored one",
                                                         id="f-secret"), "secret")
                roles = [(ROLE_TITLES[r], r) for r in MAPPED_ROLES] + [("Refuse", REFUSE)]
                yield from self._row("Default", Select(roles, allow_blank=False, id="f-default",
                                                            value=(p.default_role if p and p.default_role else REFUSE)),
                                     "default")
                yield from self._row("Rules", TextArea(rules_text(p), id="f-rules"), "rules")
            yield Static("", id="sso-form-message")
        yield Footer()

    def _ldap_fields(self, c: dict[str, Any]) -> ComposeResult:
        yield from self._row("URLs", Input(" ".join(c.get("urls", [])), placeholder="ldaps://dc1.plant.lan",
                                           id="f-urls"), "urls")
        yield from self._row("Directory", Select([("Active Directory", "active_directory"), ("OpenLDAP", "openldap")],
                                                 value=c.get("directory", "active_directory"), allow_blank=False,
                                                 id="f-directory"), "directory")
        yield from self._row("StartTLS", Switch(bool(c.get("start_tls")), id="f-starttls"), "starttls")
        yield from self._row("CA file", Input("", placeholder="PEM file; empty: keep" + (" (one is stored)"
                                              if c.get("ca_bundle") else ""), id="f-ca-file"), "ca-file")
        yield from self._row("Bind DN", Input(c.get("bind_dn") or "", placeholder="CN=svc-factoryos,OU=…",
                                                 id="f-bind-dn"), "bind-dn")
        yield from self._row("Bind pw", Input(password=True, placeholder="empty: keep the stored one",
                                                 id="f-secret"), "secret")
        yield from self._row("Base", Input(c.get("user_base", ""), placeholder="OU=Staff,DC=plant,DC=lan",
                                                  id="f-user-base"), "user-base")
        yield from self._row("Filter", Input(c.get("user_filter", "(mail={email})"), id="f-user-filter"),
                             "user-filter")
        yield from self._row("Groups", Select([("memberOf", "member_of"), ("Group search", "group_search")],
                                              value=c.get("groups", "member_of"), allow_blank=False, id="f-groups"),
                             "groups")
        yield from self._row("Group base", Input(c.get("group_base") or "", placeholder="for a group search",
                                                 id="f-group-base"), "group-base")

    def _saml_fields(self, c: dict[str, Any]) -> ComposeResult:
        yield Static(saml_sp_text(self.provider), id="sso-sp")
        yield Static(idp_text(c.get("idp_metadata_xml")), id="sso-idp")
        yield from self._row("Metadata", Input(c.get("idp_metadata_url") or "", placeholder=(
            "URL, e.g. https://idp.plant.lan/…/metadata"), id="f-md-url"), "md-url")
        yield from self._row("File", Input("", placeholder="metadata XML file; empty: keep", id="f-md-file"),
                             "md-file")
        yield from self._row("XML", TextArea("", id="f-md-xml"), "md-xml")
        yield from self._row("Signed", Switch(True, disabled=True, id="f-signed",
                                              tooltip="Signed assertions are always required."), "signed")
        for field, key, default in SAML_ATTRIBUTES:
            yield from self._row(field.removesuffix("-attr").capitalize(),
                                 Input(c.get(key) or default, placeholder="attribute name or friendly name" if
                                       default else "empty: the persistent NameID", id=f"f-{field}"), field)
        yield from self._row("Public URL", Input(c.get("sp_base_url") or "", placeholder="empty: as shown above",
                                                 id="f-sp-base"), "sp-base")
        yield from self._row("CA file", Input("", placeholder="PEM for an https metadata URL; empty: keep" + (
            " (one is stored)" if c.get("ca_bundle") else ""), id="f-ca-file"), "ca-file")

    def _saml_config(self) -> dict[str, Any]:
        old = dict(self.provider.config) if self.provider else {}
        config: dict[str, Any] = {k: v for k, v in old.items() if k not in ("idp_metadata_url", "idp_metadata_xml")}
        url, path = self._value("md-url"), self._value("md-file")
        pasted = self.query_one("#f-md-xml", TextArea).text.strip()
        if path:
            try:
                pasted = Path(path).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _Invalid("md-file", f"cannot read {path}: {exc.strerror or exc}") from None
        if pasted:
            try:
                parse_metadata(pasted)  # said here, at the field, before anything is sent
            except MetadataInvalid as exc:
                raise _Invalid("md-file" if path else "md-xml", str(exc)) from None
            config["idp_metadata_xml"] = pasted
        elif url:
            config["idp_metadata_url"] = url  # the server fetches it at this save
        elif old.get("idp_metadata_url"):
            raise _Invalid("md-url", "give the metadata URL, a file or the pasted XML")
        elif old.get("idp_metadata_xml"):
            config["idp_metadata_xml"] = old["idp_metadata_xml"]
        for field, key, default in SAML_ATTRIBUTES:
            config[key] = self._value(field) or default or None  # an empty subject: the NameID
        config["sp_base_url"] = self._value("sp-base") or None
        ca_file = self._value("ca-file")
        if ca_file:
            try:
                config["ca_bundle"] = Path(ca_file).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _Invalid("ca-file", f"cannot read {ca_file}: {exc.strerror or exc}") from None
        return config

    def _value(self, key: str) -> str:
        return self.query_one(f"#f-{key}", Input).value.strip()

    def _config(self) -> dict[str, Any]:
        if self.kind == "saml":
            return self._saml_config()
        if self.kind != "ldap":
            try:
                return json.loads(self.query_one("#f-config", TextArea).text or "{}")
            except json.JSONDecodeError as exc:
                raise _Invalid("urls", f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
        old = dict(self.provider.config) if self.provider else {}
        config: dict[str, Any] = {
            **old,
            "urls": _split(self._value("urls")),
            "directory": self.query_one("#f-directory", Select).value,
            "start_tls": self.query_one("#f-starttls", Switch).value,
            "bind": "service", "bind_dn": self._value("bind-dn") or None,
            "user_base": self._value("user-base"), "user_filter": self._value("user-filter") or "(mail={email})",
            "groups": self.query_one("#f-groups", Select).value, "group_base": self._value("group-base") or None,
        }
        if config["directory"] == "active_directory" and "subject_attribute" not in old:
            config["subject_attribute"] = "objectGUID"
        ca_file = self._value("ca-file")
        if ca_file:
            try:
                config["ca_bundle"] = Path(ca_file).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _Invalid("ca-file", f"cannot read {ca_file}: {exc.strerror or exc}") from None
        return config

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_save(self) -> None:
        for error in self.query(FieldError):
            error.clear()
        self.save()

    @work(exclusive=True, group="sso-save", exit_on_error=False)
    async def save(self) -> None:
        try:
            rules = parse_rules(self.query_one("#f-rules", TextArea).text)
        except ValueError as exc:
            self._at("rules", str(exc))
            return
        try:
            config = self._config()
        except _Invalid as exc:
            self._at(exc.key, exc.message)
            return
        secret_text = self._value("secret") if self.kind != "saml" else ""
        default = self.query_one("#f-default", Select).value
        fields: dict[str, Any] = {
            "name": self._value("name"), "email_domains": _split(self._value("domains")),
            "enabled": self.query_one("#f-enabled", Switch).value, "config": config, "rules": rules,
            "secret": SecretStr(secret_text) if secret_text else None,
        }
        try:
            if self.provider is None:
                await self.api.create_sso_provider(ProviderIn(kind=self.kind, default_role=None if default == REFUSE
                                                              else default, **fields))
            else:
                patch = ProviderPatch(**{k: v for k, v in fields.items() if v is not None or k == "name"},
                                      **({"refuse_unmapped": True} if default == REFUSE else {"default_role": default}))
                await self.api.update_sso_provider(self.provider.id, patch)
        except ClientError as exc:
            field = exc.field or ""
            key = _FIELDS.get(field) or _FIELDS.get(field.split("[")[0].split(".")[0], "name")
            if self.kind == "saml" and field.startswith("config"):
                key = _SAML_FIELDS.get(field, "md-url")
            elif self.kind != "ldap" and field.startswith("config"):
                key = "urls"  # the settings JSON
            self._at(key, describe(exc).message)
            return
        except ValueError as exc:  # a field the client's model refuses (e.g. an empty name)
            self._at("name", str(exc).splitlines()[-1])
            return
        self.app.notify("Provider saved. Rules apply at each person's next sign-in.", title="Saved")
        self.dismiss(True)

    def _at(self, key: str, message: str) -> None:
        error = self.query_one(f"#err-{key}", FieldError)
        error.show(message)
        for widget in self.query(f"#f-{key}"):
            widget.focus()
        self.call_after_refresh(error.scroll_visible)  # the message under the field, not only the field


class _Invalid(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


class SsoTestDialog(ShowsWorkerErrors, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="close"),
        Binding("ctrl+t", "run", "Test", tooltip="Try the saved settings with this person.", id="run"),
    ]
    DEFAULT_CSS = """
    SsoTestDialog #sso-test-result { height: auto; max-height: 12; margin-top: 1; }
    """

    def __init__(self, api: FactoryClient, provider: ProviderOut) -> None:
        super().__init__()
        self.api, self.provider = api, provider

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="sso-test-dialog"):
            yield Static(f"Test {self.provider.name}", classes="dialog-title")
            if self.provider.kind == "ldap":
                with Horizontal(classes="form-row"):
                    yield Label("Person", classes="form-label")
                    yield Input(placeholder="email or account name (empty: connection only)", id="t-user")
                with Horizontal(classes="form-row"):
                    yield Label("Password", classes="form-label")
                    yield Input(password=True, placeholder="optional: also check it", id="t-password")
            yield VerticalScroll(Static("", id="sso-test-result"))
        yield Footer()

    def on_mount(self) -> None:
        if self.provider.kind != "ldap":  # nothing to ask: the metadata or discovery is tried at once
            self.action_run()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def action_run(self) -> None:
        self.query_one("#sso-test-result", Static).update("Testing…")
        self.probe()

    @work(exclusive=True, group="sso-test", exit_on_error=False)
    async def probe(self) -> None:
        asks = self.provider.kind == "ldap"
        user = (self.query_one("#t-user", Input).value.strip() or None) if asks else None
        password = self.query_one("#t-password", Input).value if asks else ""
        out = await self.api.test_sso_provider(self.provider.id, ProviderTestIn(
            username=user, password=SecretStr(password) if password else None))
        lines = [f"[b]{'✓' if out.ok else '✗'} {escape(out.summary)}[/b]", ""]
        lines += [f"{'✓' if s.ok else '✗'} {s.step}: {escape(s.message)}" for s in out.steps]
        self.query_one("#sso-test-result", Static).update("\n".join(lines))


def saml_sp_text(provider: ProviderOut | None) -> str:
    if provider is None or provider.sp is None:
        return "Our SP metadata address is shown here once the provider is saved: give it to the identity provider."
    return (f"[b]Give the identity provider our SP metadata:[/b]\n{escape(provider.sp.metadata_url)}\n"
            f"(entity id: the same address; assertions are posted to …/acs)")


def idp_text(xml: str | None) -> str:
    """The imported metadata in words: whose it is and until when its certificates hold."""
    if not xml:
        return "Identity provider: no metadata imported yet."
    try:
        meta = parse_metadata(xml)
    except MetadataInvalid as exc:
        return f"Identity provider: the imported metadata is not usable ({escape(str(exc))})."
    ends = ", ".join(f"{c.not_after:%Y-%m-%d}" for c in meta.signing_certs) or "none"
    return f"Identity provider: {escape(meta.entity_id)} · certificate(s) until {ends}"


def scim_line(status: ScimStatus) -> str:
    if not status.enabled:
        return "SCIM provisioning: off · R issues a token for Entra ID, Okta…"
    return (f"SCIM: on · token {status.token_hint} · rules of {escape(status.provider_name or '?')} · "
            f"{status.users} people, {status.groups} groups · R rotates")


OVERLAPS = [("Old token stops at once", 0), ("Old token works 1 more hour", 60),
            ("Old token works 1 more day", 24 * 60)]


class ScimTokenDialog(ShowsWorkerErrors, ModalScreen[bool]):
    """Issue or rotate the SCIM token: which provider's rules apply, how long the old token keeps
    working; the new token is shown here once, with the address to give the identity provider."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="close"),
        Binding("ctrl+s", "issue", "Issue token", tooltip="Issue a new token (rotates the current one).",
                id="issue"),
        Binding("ctrl+d", "turn_off", "Turn off", tooltip="End every SCIM token now.", id="turn-off"),
    ]
    DEFAULT_CSS = """
    ScimTokenDialog #scim-token { height: 4; width: 1fr; }
    ScimTokenDialog #scim-result { height: auto; margin-top: 1; }
    """

    def __init__(self, api: FactoryClient, providers: list[ProviderOut], status: ScimStatus | None) -> None:
        super().__init__()
        self.api, self.providers, self.status = api, providers, status
        self.issued = False

    def compose(self) -> ComposeResult:
        current = self.status.provider_id if self.status and self.status.provider_id else self.providers[0].id
        on = bool(self.status and self.status.enabled)
        with Vertical(classes="dialog wide", id="scim-dialog"):
            yield Static("Rotate the SCIM token" if on else "Turn on SCIM provisioning", classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Rules of", classes="form-label")
                yield Select([(p.name, str(p.id)) for p in self.providers], value=str(current), allow_blank=False,
                             id="scim-provider")
            if on:
                with Horizontal(classes="form-row"):
                    yield Label("Old token", classes="form-label")
                    yield Select(OVERLAPS, value=0, allow_blank=False, id="scim-overlap")
            yield Static(f"Tenant URL: {escape(self.api.server.rstrip('/'))}/scim/v2", id="scim-url")
            yield TextArea("", read_only=True, id="scim-token")
            yield Static("Ctrl+S issues a token; it is shown here once.", id="scim-result")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(self.issued)

    def action_issue(self) -> None:
        self.issue()

    def action_turn_off(self) -> None:
        self.turn_off()

    @work(exclusive=True, group="scim-token", exit_on_error=False)
    async def issue(self) -> None:
        provider = self.query_one("#scim-provider", Select).value
        overlaps = self.query("#scim-overlap")
        overlap = overlaps.first(Select).value if overlaps else 0
        out = await self.api.issue_scim_token(ScimTokenIn(provider_id=UUID(str(provider)),
                                                          overlap_minutes=int(str(overlap or 0))))
        self.issued = True
        self.query_one("#scim-token", TextArea).text = out.token
        minutes = int(str(overlap))
        ends = ""
        if self.status is not None and self.status.enabled:
            ends = (" The old token has stopped working." if not minutes else
                    f" The old token keeps working for {'1 hour' if minutes == 60 else '1 day'}.")
        self.query_one("#scim-result", Static).update(
            "[b]Copy this token into the identity provider's provisioning settings now: it is not shown again."
            f"[/b]{ends}")

    @work(exclusive=True, group="scim-token", exit_on_error=False)
    async def turn_off(self) -> None:
        await self.api.turn_off_scim()
        self.issued = True
        self.query_one("#scim-token", TextArea).text = ""
        self.query_one("#scim-result", Static).update("SCIM provisioning is off: every token has ended.")
