"""A real OpenLDAP server (Debian's slapd) on loopback, over LDAPS with a CA made here.

The tree: people under ou=people, groups (groupOfNames) under ou=groups with the memberOf
overlay, and a nested chain: ada ∈ line-leads ∈ supervisors ∈ staff. Entries are added over
the wire as the root DN, so the overlay maintains memberOf as it would in a real directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMA = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
BASE = "dc=plant,dc=test"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PW = "root-secret-for-tests"
SERVICE_DN = f"cn=factoryos,ou=services,{BASE}"
SERVICE_PW = "service-secret-for-tests"
# groupOfNames needs a member: every group also holds this entry, so a group can be emptied of people.
NOBODY = f"cn=nobody,ou=services,{BASE}"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
DOMAIN = "plant.example.com"


def available() -> bool:
    return Path(SLAPD).exists() and (SCHEMA / "core.schema").exists() and (MODULES / "memberof.la").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _certificates(directory: Path) -> str:
    """A CA and a server certificate for localhost/127.0.0.1; returns the CA as PEM."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FactoryOS test directory CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "ca.pem").write_text(ca_pem)
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return ca_pem


CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
modulepath {modules}
moduleload back_mdb
moduleload memberof
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{root_dn}"
rootpw {root_pw}
directory {dir}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
"""


@dataclass
class Slapd:
    ldaps_url: str
    ldap_url: str
    ca_pem: str
    process: subprocess.Popen[bytes]

    def admin(self) -> Connection:
        server = Server(self.ldap_url.removeprefix("ldap://").split(":")[0],
                        port=int(self.ldap_url.rsplit(":", 1)[1]), get_info=None)
        conn = Connection(server, ROOT_DN, ROOT_PW, auto_bind=True)
        return conn

    def add_person(self, uid: str, name: str, password: str, email: str | None = None) -> str:
        dn = f"uid={uid},{PEOPLE}"
        with self.admin() as conn:
            assert conn.add(dn, ["inetOrgPerson"], {"cn": name, "sn": name.split()[-1], "displayName": name,
                                                    "mail": email or f"{uid}@{DOMAIN}", "userPassword": password}), \
                conn.result
        return dn

    def add_group(self, cn: str, members: list[str]) -> str:
        dn = f"cn={cn},{GROUPS}"
        with self.admin() as conn:
            assert conn.add(dn, ["groupOfNames"], {"cn": cn, "member": [*members, NOBODY]}), conn.result
        return dn

    def add_member(self, group: str, member: str) -> None:
        with self.admin() as conn:
            assert conn.modify(f"cn={group},{GROUPS}", {"member": [(MODIFY_ADD, [member])]}), conn.result

    def remove_member(self, group: str, member: str) -> None:
        with self.admin() as conn:
            assert conn.modify(f"cn={group},{GROUPS}", {"member": [(MODIFY_DELETE, [member])]}), conn.result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _wait(url_host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((url_host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening")


def _tree(server: Slapd) -> None:
    with server.admin() as conn:
        for dn, classes, attrs in [
            (BASE, ["dcObject", "organization"], {"dc": "plant", "o": "Plant Test"}),
            (f"ou=people,{BASE}", ["organizationalUnit"], {"ou": "people"}),
            (f"ou=groups,{BASE}", ["organizationalUnit"], {"ou": "groups"}),
            (f"ou=services,{BASE}", ["organizationalUnit"], {"ou": "services"}),
            (SERVICE_DN, ["inetOrgPerson"], {"cn": "factoryos", "sn": "service", "userPassword": SERVICE_PW}),
            (NOBODY, ["organizationalRole"], {"cn": "nobody"}),
        ]:
            assert conn.add(dn, classes, attrs), conn.result
    ada = server.add_person("ada", "Ada Lovelace", "ada-Difference-Engine-1843")
    bob = server.add_person("bob", "Bob Operator", "bob-Lathe-Spindle-77")
    server.add_person("carl", "Carl Nogroup", "carl-Nothing-Here-12")
    # Nesting: ada ∈ line-leads ∈ supervisors ∈ staff; bob ∈ operators.
    leads = server.add_group("line-leads", [ada])
    supervisors = server.add_group("supervisors", [leads])
    server.add_group("staff", [supervisors])
    server.add_group("operators", [bob])


@contextmanager
def running_slapd() -> Iterator[Slapd]:
    directory = Path(tempfile.mkdtemp(prefix="factoryos-slapd-"))
    process = None
    try:
        (directory / "db").mkdir()
        ca_pem = _certificates(directory)
        (directory / "slapd.conf").write_text(CONFIG.format(schema=SCHEMA, modules=MODULES, dir=directory, base=BASE,
                                                            root_dn=ROOT_DN, root_pw=ROOT_PW))
        ldaps_port, ldap_port = _free_port(), _free_port()
        ldaps_url, ldap_url = f"ldaps://localhost:{ldaps_port}", f"ldap://127.0.0.1:{ldap_port}"
        # -d 0: stay in the foreground (this process owns it) without debug output.
        process = subprocess.Popen(
            [SLAPD, "-d", "0", "-f", str(directory / "slapd.conf"), "-h", f"{ldaps_url}/ {ldap_url}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait("127.0.0.1", ldaps_port, process)
        _wait("127.0.0.1", ldap_port, process)
        server = Slapd(ldaps_url, ldap_url, ca_pem, process)
        _tree(server)
        yield server
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class People:
    """One test's people and groups, under a domain of their own (a domain routes to one company)."""

    tag: str
    domain: str
    ada: str  # in line-leads ⊂ supervisors ⊂ staff (nested)
    bob: str  # in operators
    carl: str  # in no group

    def group(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def dn(self, email: str) -> str:
        return f"uid={email.split('@')[0]},{PEOPLE}"


PASSWORDS = {"ada": "ada-Difference-Engine-1843", "bob": "bob-Lathe-Spindle-77", "carl": "carl-Nothing-Here-12"}


def add_people(server: Slapd, tag: str) -> People:
    domain = f"{tag}.plant.example.com"
    emails = {}
    for who, name in (("ada", "Ada Lovelace"), ("bob", "Bob Operator"), ("carl", "Carl Nogroup")):
        uid = f"{who}-{tag}"
        server.add_person(uid, name, PASSWORDS[who], email=f"{uid}@{domain}")
        emails[who] = f"{uid}@{domain}"
    leads = server.add_group(f"line-leads-{tag}", [f"uid=ada-{tag},{PEOPLE}"])
    supervisors = server.add_group(f"supervisors-{tag}", [leads])
    server.add_group(f"staff-{tag}", [supervisors])
    server.add_group(f"operators-{tag}", [f"uid=bob-{tag},{PEOPLE}"])
    return People(tag, domain, emails["ada"], emails["bob"], emails["carl"])


def ldap_config(server: Slapd, **overrides: object) -> dict[str, object]:
    """A provider config for this directory over LDAPS with the test CA."""
    config: dict[str, object] = {
        "urls": [server.ldaps_url], "directory": "openldap", "ca_bundle": server.ca_pem,
        "bind": "service", "bind_dn": SERVICE_DN, "user_base": PEOPLE, "user_filter": "(mail={email})",
        "subject_attribute": "entryUUID", "groups": "member_of", "nested": True, "timeout_seconds": 3,
    }
    config.update(overrides)
    return config
