"""A real OpenID Provider for the tests (oidc-provider under Node, tests/sso/oidc_provider/) and
a person at a browser who signs in there by following its real redirects and forms.

`.ci/run` installs the provider with `npm ci --prefix tests/sso/oidc_provider`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from factoryos.db.tenant import set_tenant
from factoryos.sso.models import MappingRuleIn, ProviderIn
from factoryos.sso.registry import create_provider
from tests.accounts import new_company

HARNESS = Path(__file__).resolve().parent / "oidc_provider"
SECRET = "test-client-secret-0123456789"
CLIENT = "factoryos"
OTHER_CLIENT = "another-app"  # a second application at the same provider (wrong audience for us)
BRIEF_CLIENT = "factoryos-brief"  # its device codes live 3 s and its ID tokens 1 s
PROTOCOL_REDIRECT = "http://127.0.0.1:9/oidc/callback"  # never reached: the person stops there

USERS: dict[str, dict[str, Any]] = {
    "ana": {"email": "ana.ops@acme-plant.example.com", "name": "Ana Operator", "groups": ["mes-operators"],
            "password": "ana-pass-1"},
    "sam": {"email": "sam.boss@acme-plant.example.com", "name": "Sam Supervisor",
            "groups": ["staff", "mes-supervisors"], "password": "sam-pass-1"},
    "zoe": {"email": "zoe.guest@acme-plant.example.com", "name": "Zoe Guest", "groups": ["visitors"],
            "password": "zoe-pass-1"},
    # Signs in during the route audit walk (tests/sso/oidc_audit_steps.py), in the walk's company.
    "walt": {"email": "walt@walk-oidc.example.com", "name": "Walt Walker", "groups": ["operators"],
             "password": "walt-pass-1"},
}


@dataclass
class OpenIdProvider:
    issuer: str
    process: subprocess.Popen[str]
    workdir: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _client(client_id: str, redirect_uris: list[str]) -> dict[str, Any]:
    return {
        "client_id": client_id, "client_secret": SECRET, "client_name": f"Test {client_id}",
        "redirect_uris": redirect_uris, "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }


def start_provider(redirect_uris: list[str]) -> OpenIdProvider:
    node = shutil.which("node")
    if node is None or not (HARNESS / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Provider needs Node 20+ and `npm ci --prefix tests/sso/oidc_provider`")
    workdir = Path(tempfile.mkdtemp(prefix="factoryos-op-"))
    config = {
        "clients": [_client(c, [*redirect_uris, PROTOCOL_REDIRECT]) for c in (CLIENT, OTHER_CLIENT, BRIEF_CLIENT)],
        "users": USERS,
        "short_lived": {BRIEF_CLIENT: {"DeviceCode": 3, "IdToken": 1}},
    }
    (workdir / "op.json").write_text(json.dumps(config))
    process = subprocess.Popen([node, str(HARNESS / "provider.js"), str(workdir / "op.json")], cwd=HARNESS,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:  # keep draining, or a chatty provider blocks on a full pipe
            lines.append(line.rstrip())
            if line.startswith("ready "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(30):
        process.kill()
        pytest.fail("the test OpenID Provider did not start:\n" + "\n".join(lines))
    issuer = next(line.split(" ", 1)[1] for line in lines if line.startswith("ready "))
    return OpenIdProvider(issuer=issuer, process=process, workdir=workdir)


# -- the person at the browser --------------------------------------------------------------


@dataclass
class Form:
    id: str | None
    action: str
    method: str
    fields: dict[str, str]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(a.get("id"), a.get("action", ""), a.get("method", "get").lower(), {})
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and a.get("name"):
            self._open.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_of(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


class Person:
    """Signs in at the provider like a person would: opens the link, types user and password,
    allows (or denies) the application. Cookies and redirects as a browser keeps them."""

    def __init__(self, user: str, password: str | None = None) -> None:
        self.user = user
        self.password = password if password is not None else USERS[user]["password"]
        self.browser = httpx.Client(timeout=15, follow_redirects=False)
        self.pages: list[str] = []

    def close(self) -> None:
        self.browser.close()

    def visit(self, url: str, *, allow: bool = True, stop_at: str | None = None) -> str:
        """Follow `url` through the provider's pages; the text of the last page, or the URL the
        provider sends the browser back to when it starts with `stop_at`."""
        response = self.browser.get(url)
        for _ in range(25):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if stop_at is not None and target.startswith(stop_at):
                    return target
                response = self.browser.get(target)
                continue
            page = response.text
            self.pages.append(page)
            form = self._next_form(page, allow)
            if form is None:
                return page
            response = self.browser.request(form.method.upper(), urljoin(str(response.url), form.action),
                                            data=form.fields)
        raise AssertionError("the sign-in did not end:\n" + self.pages[-1][:2000])

    def _next_form(self, page: str, allow: bool) -> Form | None:
        forms = forms_of(page)
        for form in forms:
            if "password" in form.fields:
                form.fields.update(login=self.user, password=self.password)
                return form
        for form in forms:
            if form.action.endswith("/confirm"):
                return form if allow else next(f for f in forms if f.action.endswith("/abort"))
        for form in forms:
            if form.id == "op.deviceConfirmForm":
                return form
            if form.method == "post" and form.fields and form.id is None and "user_code" in form.fields:
                return form  # the auto-submitting page a link with the code opens (script does it in a browser)
        return None


CALLBACK_PATH = "/api/v1/auth/sso/oidc/callback"

SCOPES = ["openid", "email", "profile", "groups"]
RULES = [MappingRuleIn(group="mes-supervisors", role="supervisor"), MappingRuleIn(group="mes-operators", role="operator")]


def add_provider(app_engine, authenticator, tenant_id: str, issuer: str, *, client_id: str = CLIENT,
                 name: str | None = None, domains: list[str] | None = None) -> str:
    body = ProviderIn(kind="oidc", name=name or f"Plant IdP {uuid.uuid4().hex[:4]}", email_domains=domains or [],
                      config={"issuer": issuer, "client_id": client_id, "scopes": SCOPES},
                      secret=SECRET, default_role=None, rules=RULES)
    with app_engine.begin() as conn:
        set_tenant(conn, uuid.UUID(tenant_id))
        return str(create_provider(conn, authenticator.runtime.keys, uuid.UUID(tenant_id), body).id)


@pytest.fixture(scope="session")
def plant(live_server, app_engine, authenticator, oidc_op) -> dict[str, Any]:
    """A company whose staff (emails at acme-plant.example.com) sign in at the test provider."""
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        owner = new_company(http)
    pid = add_provider(app_engine, authenticator, owner.tenant_id, oidc_op.issuer, name="Acme Keycloak",
                       domains=["acme-plant.example.com"])
    return {"owner": owner, "provider_id": pid}


@pytest.fixture(scope="session")
def oidc_op(live_server) -> Any:
    """The provider, for the session: knows the live server's callback and the protocol tests' one."""
    provider = start_provider([live_server.url + CALLBACK_PATH])
    yield provider
    provider.stop()
