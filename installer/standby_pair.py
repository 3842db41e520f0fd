"""What a Compose primary hands its warm standby: the pair file, the replication certificate, and the
pg_hba.conf lines that let the standby's role in (over TLS, from its address) and nobody else from the LAN.

The pair file carries the installation's secrets (the standby's database *is* the primary's: same roles,
same passwords, same signing key), so it is written 0600 and is carried by the administrator, never sent.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from factoryos.backup.standby import REPLICATION_ROLE, StandbyError
from factoryos.private_files import write_private
from installer.envfile import SECRET_NAMES

FORMAT = "factoryos-standby-pair/1"
CERT_DAYS = 3650
# Marks the block `pair` writes into pg_hba.conf, so that pairing again replaces it.
HBA_BEGIN = "# factoryos standby pair: begin"
HBA_END = "# factoryos standby pair: end"
# initdb's and the image's catch-all lines (compose/postgres/entrypoint.sh): the block goes before them.
_CATCH_ALL = ("host all all all ", "host replication postgres all ")


@dataclass(frozen=True)
class PairFile:
    host: str  # where the standby reaches the primary's database
    port: int
    identity: str  # the primary's system identifier: the standby refuses any other database
    password: str  # of the replication role
    ca_pem: str  # the primary's replication certificate, checked by the standby (sslmode=verify-ca)
    secrets: dict[str, str] = field(default_factory=dict)  # the primary's .env secrets
    role: str = REPLICATION_ROLE
    created_at: str = ""
    audit_key: str = ""  # the api's audit signing key (PEM): the standby signs chain heads with the same key
    version: str = ""  # the primary's FactoryOS version: the standby runs the same images (same PostgreSQL)

    def conninfo(self, ca_file: str | None, *, host: str | None = None, port: int | None = None) -> str:
        """libpq keywords for the standby's role (the password goes separately: PGPASSWORD)."""
        ca = f" sslrootcert={ca_file}" if ca_file else ""
        return (f"host={host or self.host} port={port or self.port} user={self.role} sslmode=verify-ca{ca} "
                f"application_name={self.role} connect_timeout=10")  # fmt: skip

    def write(self, path: Path) -> Path:
        body = json.dumps({"format": FORMAT, **asdict(self)}, indent=2, sort_keys=True) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_private(path, body)

    @classmethod
    def read(cls, path: Path) -> PairFile:
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StandbyError(f"pair file {path}: not readable ({exc})", code="standby_failed") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise StandbyError(f"pair file {path}: not a FactoryOS standby pair file (`factoryos standby pair` "
                               "writes one on the primary)", code="standby_failed")  # fmt: skip
        try:
            pair = cls(host=str(body["host"]), port=int(body["port"]), identity=str(body["identity"]),
                       password=str(body["password"]), ca_pem=str(body["ca_pem"]),
                       secrets={str(k): str(v) for k, v in dict(body.get("secrets") or {}).items()},
                       role=str(body.get("role") or REPLICATION_ROLE), created_at=str(body.get("created_at") or ""),
                       audit_key=str(body.get("audit_key") or ""), version=str(body.get("version") or ""))  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise StandbyError(f"pair file {path}: field {exc} missing or invalid", code="standby_failed") from None
        missing = [name for name in SECRET_NAMES if not pair.secrets.get(name)]
        if missing:
            raise StandbyError(f"pair file {path}: the primary's {', '.join(missing)} missing", code="standby_failed")
        return pair


def standby_networks(addresses: str) -> list[str]:
    """`--standby-host`: addresses (/32) or networks, comma-separated, as pg_hba.conf takes them."""
    found = []
    for address in (part.strip() for part in addresses.split(",")):
        try:
            network = ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise StandbyError(f"--standby-host {address!r} is not an IP address or network (e.g. 10.0.0.12 or "
                               "10.0.0.0/24)", code="standby_failed") from None  # fmt: skip
        if network.num_addresses > 2**20:
            raise StandbyError(f"--standby-host {address}: name the standby's address, not a network of "
                               f"{network.num_addresses} addresses", code="standby_failed")  # fmt: skip
        found.append(str(network))
    return list(dict.fromkeys(found))


def paired_hba(current: str, standby: list[str]) -> str:
    """pg_hba.conf with the pair block before the catch-all lines (first match wins): the standby's role
    over TLS from the `standby` networks; every other remote login only from networks the database is on itself
    (`samenet`: the api's), so the published port admits nobody else from the LAN."""
    lines = _without_block(current.splitlines())
    block = [
        HBA_BEGIN,
        *(f"hostssl replication {REPLICATION_ROLE} {network} scram-sha-256" for network in standby),
        "host all all samenet scram-sha-256",
        "host replication postgres samenet scram-sha-256",
        "host all all all reject",
        "host replication all all reject",
        HBA_END,
    ]
    at = next((i for i, line in enumerate(lines) if line.startswith(_CATCH_ALL)), len(lines))
    return "\n".join([*lines[:at], *block, *lines[at:]]) + "\n"


def _without_block(lines: list[str]) -> list[str]:
    if HBA_BEGIN not in lines or HBA_END not in lines:
        return lines
    start, end = lines.index(HBA_BEGIN), lines.index(HBA_END)
    return lines[:start] + lines[end + 1:]


def replication_certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate and key for the database's TLS: the pair file carries the certificate,
    and the standby trusts that one alone (verify-ca), whatever address it reaches the primary by."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"FactoryOS database {name}")])
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
