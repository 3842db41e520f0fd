"""A real SAML 2.0 identity provider for the tests: pysaml2's IdP side (signing with xmlsec1)
served over HTTP on loopback, with a login page; and a person at a browser who signs in there
by following the real redirects and form posts (httpx).

Its signing key and certificate are generated at start with `cryptography`. Knobs make it
misbehave the way the service provider must refuse: no signature, another key than its metadata
publishes, an assertion for another service, a short lifetime, an expired certificate.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from tests.sso.oidc_support import forms_of

USERS: dict[str, dict[str, Any]] = {
    "ana": {"password": "ana-pass-1", "email": "ana.ops@saml-plant.example.com", "name": "Ana Operator",
            "groups": ["mes-operators"]},
    "sam": {"password": "sam-pass-1", "email": "sam.boss@saml-plant.example.com", "name": "Sam Supervisor",
            "groups": ["staff", "mes-supervisors"]},
    "zoe": {"password": "zoe-pass-1", "email": "zoe.guest@saml-plant.example.com", "name": "Zoe Guest",
            "groups": ["visitors"]},
    # Signs records in tests/sso/test_saml_reauth.py (a domain of her own company's provider).
    "rita": {"password": "rita-pass-1", "email": "rita@reauth-saml.example.com", "name": "Rita Reviewer",
             "groups": ["mes-supervisors"]},
    # Signs in in tests/sso/test_saml_contract.py (a domain of that test's company).
    "cora": {"password": "cora-pass-1", "email": "cora@contract-saml.example.com", "name": "Cora Contract",
             "groups": ["mes-operators"]},
    # Signs in during the route audit walk (tests/sso/saml_audit_steps.py), in the walk's company.
    "walt": {"password": "walt-pass-1", "email": "walt@walk-saml.example.com", "name": "Walt Walker",
             "groups": ["mes-operators"]},
}


def key_and_cert(common_name: str, *, days: int = 30, expired: bool = False) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM), self-signed; `expired`: it ended yesterday."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    start, end = (now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired else \
        (now - dt.timedelta(minutes=5), now + dt.timedelta(days=days))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


@dataclass
class Misbehaviour:
    unsigned: bool = False  # no signature at all
    other_key: bool = False  # sign with a key the metadata does not publish
    audience: str | None = None  # issue the assertion for this SP entity id instead
    lifetime_seconds: int | None = None  # assertion validity (default 5 minutes)


@dataclass
class SamlIdp:
    """The running provider. `trust(sp_metadata)` registers a service provider (as an admin would)."""

    base: str
    workdir: Path
    expired_cert: bool = False
    sps: list[str] = field(default_factory=list)
    misbehave: Misbehaviour = field(default_factory=Misbehaviour)
    sessions: dict[str, Any] = field(default_factory=dict)  # login page key → parsed request
    logins: list[str] = field(default_factory=list)  # who typed their password, in order
    force_authn: list[bool] = field(default_factory=list)  # per request: did the SP demand a fresh login
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def entity_id(self) -> str:
        return f"{self.base}/metadata"

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/metadata"

    def _config(self, *, other_key: bool = False) -> IdPConfig:
        key, cert = ("other.key", "other.crt") if other_key else ("idp.key", "idp.crt")
        conf = IdPConfig()
        conf.load({
            "entityid": self.entity_id,
            "service": {"idp": {
                "name": "Test IdP",
                "endpoints": {"single_sign_on_service": [(f"{self.base}/sso/redirect", BINDING_HTTP_REDIRECT),
                                                         (f"{self.base}/sso/post", BINDING_HTTP_POST)]},
                "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                       "name_form": NAME_FORMAT_URI}},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            }},
            "key_file": str(self.workdir / key),
            "cert_file": str(self.workdir / cert),
            "metadata": {"inline": list(self.sps)} if self.sps else {},
            "allow_unknown_attributes": True,
        })
        return conf

    def metadata(self) -> str:
        return str(entity_descriptor(self._config()))

    def trust(self, sp_metadata: str) -> None:
        with self._lock:
            self.sps.append(sp_metadata)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the protocol -------------------------------------------------------------------------

    def login_page(self, saml_request: str, relay_state: str, binding: str) -> str:
        server = Server(config=self._config())
        request = server.parse_authn_request(saml_request, binding).message
        self.force_authn.append(str(request.force_authn).lower() == "true")
        key = uuid.uuid4().hex
        self.sessions[key] = (request, relay_state)
        return (f"<html><body><h1>Test IdP</h1><form method='post' action='{self.base}/login'>"
                f"<input type='hidden' name='key' value='{key}'>"
                "<input name='login' value=''><input name='password' type='password' value=''>"
                "<button>Sign in</button></form></body></html>")

    def login(self, form: dict[str, str]) -> tuple[int, str]:
        request, relay_state = self.sessions.pop(form.get("key", ""), (None, ""))
        user = USERS.get(form.get("login", ""))
        if request is None:
            return 400, "unknown sign-in"
        if user is None or user["password"] != form.get("password"):
            return 401, "wrong user or password"
        self.logins.append(form["login"])
        bad = self.misbehave
        server = Server(config=self._config(other_key=bad.other_key))
        if bad.lifetime_seconds is not None:
            server.config.setattr("idp", "policy", None)
            server.config.load_complex({"service": {"idp": {"policy": {"default": {
                "lifetime": {"seconds": bad.lifetime_seconds}, "attribute_restrictions": None,
                "name_form": NAME_FORMAT_URI}}}}})
        sp_entity = bad.audience or request.issuer.text
        acs = request.assertion_consumer_service_url
        identity = {"email": [user["email"]], "name": [user["name"]], "groups": list(user["groups"])}
        response = server.create_authn_response(
            identity, in_response_to=request.id, destination=acs, sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"subject-{form['login']}"),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                   "authn_instant": int(dt.datetime.now(dt.timezone.utc).timestamp())},
            sign_assertion=not bad.unsigned, sign_response=False, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256,
        )
        info = server.apply_binding(BINDING_HTTP_POST, str(response), acs, relay_state, response=True)
        return 200, str(info["data"])


def start_idp(*, expired_cert: bool = False) -> SamlIdp:
    workdir = Path(tempfile.mkdtemp(prefix="factoryos-saml-idp-"))
    key, cert = key_and_cert("Test IdP", expired=expired_cert)
    (workdir / "idp.key").write_bytes(key)
    (workdir / "idp.crt").write_bytes(cert)
    key, cert = key_and_cert("Impostor IdP")
    (workdir / "other.key").write_bytes(key)
    (workdir / "other.crt").write_bytes(cert)
    idp = SamlIdp(base="", workdir=workdir, expired_cert=expired_cert)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str, content_type: str = "text/html") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/metadata":
                self._send(200, idp.metadata(), "application/samlmetadata+xml")
            elif url.path == "/sso/redirect":
                self._send(200, idp.login_page(query["SAMLRequest"], query.get("RelayState", ""),
                                               BINDING_HTTP_REDIRECT))
            else:
                self._send(404, "not found")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/sso/post":
                self._send(200, idp.login_page(form["SAMLRequest"], form.get("RelayState", ""), BINDING_HTTP_POST))
            elif self.path == "/login":
                self._send(*idp.login(form))
            else:
                self._send(404, "not found")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    idp.base = f"http://127.0.0.1:{server.server_address[1]}"
    idp._server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return idp


class Browser:
    """A person at a browser: follows redirects, fills the IdP's login form, and lets the
    auto-submitting SAML form post itself (what the page's script does in a real browser)."""

    def __init__(self, user: str, password: str | None = None) -> None:
        self.user = user
        self.password = password if password is not None else USERS[user]["password"]
        self.http = httpx.Client(timeout=30, follow_redirects=False)
        self.saml_posts: list[tuple[str, dict[str, str]]] = []  # what the IdP's page posted to the SP

    def close(self) -> None:
        self.http.close()

    def visit(self, url: str, *, stop_before_sp: bool = False) -> httpx.Response:
        """Open `url` and follow the pages until one has nothing left to submit. With
        `stop_before_sp`, the SAML form is captured (in `saml_posts`) but not posted."""
        response = self.http.get(url)
        for _ in range(20):
            if response.is_redirect:
                response = self.http.get(urljoin(str(response.url), response.headers["location"]))
                continue
            forms = forms_of(response.text) if "html" in response.headers.get("content-type", "") else []
            form = next(iter(forms), None)
            if form is None:
                return response
            target = urljoin(str(response.url), form.action)
            if "password" in form.fields:
                form.fields.update(login=self.user, password=self.password)
            elif "SAMLResponse" in form.fields:
                self.saml_posts.append((target, dict(form.fields)))
                if stop_before_sp:
                    return response
            response = self.http.request(form.method.upper() if form.method else "POST", target, data=form.fields)
        raise AssertionError("the sign-in did not end:\n" + response.text[:2000])


RULES = [{"group": "mes-supervisors", "role": "supervisor"}, {"group": "mes-operators", "role": "operator"}]


def add_saml_provider(http: httpx.Client, owner, idp: SamlIdp, *, name: str, domains: list[str] | None = None,
                      **config: Any) -> dict[str, Any]:
    """As an admin would: import the IdP's metadata by URL, then give the IdP our SP metadata."""
    body = {"kind": "saml", "name": name, "email_domains": domains or [],
            "config": {"idp_metadata_url": idp.metadata_url, **config}, "rules": RULES}
    r = http.post("/api/v1/sso/providers", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    provider = r.json()
    metadata = http.get(sp_path(owner.tenant_id, provider["id"], "metadata"))
    assert metadata.status_code == 200, metadata.text
    idp.trust(metadata.text)
    return provider


def sp_path(company: str, provider: str, leaf: str) -> str:
    return f"/api/v1/auth/sso/saml/{company}/{provider}/{leaf}"
