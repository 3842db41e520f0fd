"""Registered site edges: credentials issued once, rotated, revoked; what an edge may publish.

An edge's credentials are its id and a random secret. The broker knows it as user `<edge id>`
with the secret as password; the API as the bearer token `edge_<company>_<edge>_<secret>`, whose
company part sets the tenant before the edge is looked up under row-level security (no lookup
across companies exists, and a forged company id finds nothing). Only a salted PBKDF2-SHA512
hash of the secret is stored, in the format of Mosquitto's password file, so the same value
answers both (`broker_files`).

Sparkplug B names: group = the company id, edge node = the edge id, device = the machine id. The
ingest trusts nothing in a message but what the broker vouches for (the edge node id in the topic
is the authenticated user, enforced by the ACL from `broker_files`) and checks that against the
registration here: an edge in force, publishing a machine of its own site (`EdgeDirectory`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import SecretStr
from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from factoryos.connectivity.connections import machine_config
from factoryos.connectivity.machine_config import AnyMachine
from factoryos.connectivity.machine_ref import poll_id
from factoryos.db.tenant import set_tenant, tenant_transaction
from factoryos.edge.edge_models import EdgeConfigOut, EdgeCreated, EdgeIn, EdgeOut, StoredCounterOut
from factoryos.errors import Conflict, FactoryOSError, NotFound, Unauthorized, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.production.counter_state import load_counter_state
from factoryos.schema.connectivity import machine_connections as mc
from factoryos.schema.edges import edges
from factoryos.schema.plant import machines, sites

TOKEN_PREFIX = "edge_"
NAMESPACE = "spBv1.0"
_ITERATIONS = 101  # Mosquitto's own default; the secret is 256 random bits, so cost buys nothing
_CONFIG_COLUMNS = ("protocol", "poll_interval", "endpoint", "signals", "password_encrypted", "key_password_encrypted")
_MACHINE_COLUMNS = ("id", "code", "ideal_cycle_seconds", "status_mapping")


class EdgeNotFound(NotFound):
    code = "edge_not_found"


class EdgeRevoked(Conflict):
    code = "edge_revoked"
    title = "Edge revoked"


class EdgeNameTaken(Conflict):
    code = "edge_name_taken"
    title = "Edge name in use"


class EdgeUnauthorized(Unauthorized):
    code = "edge_unauthorized"
    title = "Edge credentials refused"


# -- secrets ---------------------------------------------------------------------------------
def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """`$7$<iterations>$<salt>$<hash>`: Mosquitto's PBKDF2-SHA512 password-file entry."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, _ITERATIONS)
    return f"$7${_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        if kind != "7":
            return False
        mine = hashlib.pbkdf2_hmac("sha512", secret.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(mine).decode(), digest)


def make_token(tenant_id: UUID, edge_id: UUID, secret: str) -> str:
    return f"{TOKEN_PREFIX}{tenant_id.hex}_{edge_id.hex}_{secret}"


def parse_token(token: str) -> tuple[UUID, UUID, str] | None:
    """(company, edge, secret) of a bearer token, or None when it is not an edge token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 300:
        return None
    company, _, rest = token[len(TOKEN_PREFIX):].partition("_")
    edge, _, secret = rest.partition("_")
    try:
        return UUID(hex=company), UUID(hex=edge), secret
    except ValueError:
        return None


# -- administration --------------------------------------------------------------------------
def edge_out(row: RowMapping) -> EdgeOut:
    return EdgeOut(id=row["id"], site_id=row["site_id"], name=row["name"], created_at=row["created_at"],
                   rotated_at=row["rotated_at"], revoked_at=row["revoked_at"], mqtt_username=str(row["id"]),
                   group_id=str(row["tenant_id"]))


def audit_view(edge: EdgeOut) -> dict[str, Any]:
    return edge.model_dump(mode="json")


def _row(conn: Connection, tenant_id: UUID, edge_id: UUID, *, for_update: bool = False) -> RowMapping:
    stmt = select(edges).where(edges.c.tenant_id == tenant_id, edges.c.id == edge_id)
    row = conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()
    if row is None:
        raise EdgeNotFound(f"no edge {edge_id}", field="edge_id")
    return row


def list_edges(conn: Connection, tenant_id: UUID) -> list[EdgeOut]:
    rows = conn.execute(select(edges).where(edges.c.tenant_id == tenant_id)
                        .order_by(edges.c.revoked_at.is_not(None), edges.c.name, edges.c.id)).mappings()
    return [edge_out(r) for r in rows]


def get_edge(conn: Connection, tenant_id: UUID, edge_id: UUID) -> EdgeOut:
    return edge_out(_row(conn, tenant_id, edge_id))


def _created(row: RowMapping, secret: str) -> EdgeCreated:
    return EdgeCreated(**edge_out(row).model_dump(), secret=secret,
                       token=make_token(row["tenant_id"], row["id"], secret))


def create_edge(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: EdgeIn) -> EdgeCreated:
    name = body.name.strip()
    if not name:
        raise ValidationFailed("name: must not be blank", field="name")
    # Under the caller's site scope: a site outside it is not found, as it would be when read.
    if conn.execute(select(sites.c.id).where(sites.c.tenant_id == tenant_id, sites.c.id == body.site_id)).first() is None:
        raise ValidationFailed(f"no site {body.site_id}", code="site_not_found", field="site_id")
    secret = secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            row = conn.execute(insert(edges).values(tenant_id=tenant_id, site_id=body.site_id, name=name,
                                                    secret_hash=hash_secret(secret), created_by=user_id)
                               .returning(edges)).mappings().one()
    except IntegrityError:
        raise EdgeNameTaken(f"the site already has an edge named {name!r}", field="name") from None
    return _created(row, secret)


def rotate_edge(conn: Connection, tenant_id: UUID, edge_id: UUID) -> tuple[EdgeOut, EdgeCreated]:
    """A new secret at once: the old one stops working for the API now and at the broker when its
    password file is written again."""
    before = _row(conn, tenant_id, edge_id, for_update=True)
    if before["revoked_at"] is not None:
        raise EdgeRevoked("a revoked edge cannot get new credentials: register a new one", field="edge_id")
    secret = secrets.token_urlsafe(32)
    after = conn.execute(update(edges).where(edges.c.tenant_id == tenant_id, edges.c.id == edge_id)
                         .values(secret_hash=hash_secret(secret), rotated_at=func.now())
                         .returning(edges)).mappings().one()
    return edge_out(before), _created(after, secret)


def revoke_edge(conn: Connection, tenant_id: UUID, edge_id: UUID) -> tuple[EdgeOut, EdgeOut]:
    before = _row(conn, tenant_id, edge_id, for_update=True)
    if before["revoked_at"] is not None:
        return edge_out(before), edge_out(before)
    after = conn.execute(update(edges).where(edges.c.tenant_id == tenant_id, edges.c.id == edge_id)
                         .values(revoked_at=func.now()).returning(edges)).mappings().one()
    return edge_out(before), edge_out(after)


# -- the edge's own calls --------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeCaller:
    tenant_id: UUID
    edge_id: UUID
    site_id: UUID


def resolve_token(conn: Connection, token: str) -> EdgeCaller:
    """The edge in force a bearer token names, with the transaction's tenant set to its company."""
    parsed = parse_token(token)
    if parsed is None:
        raise EdgeUnauthorized("an edge token is required (Authorization: Bearer edge_…)")
    tenant_id, edge_id, secret = parsed
    set_tenant(conn, tenant_id)
    row = conn.execute(select(edges.c.site_id, edges.c.secret_hash, edges.c.revoked_at)
                       .where(edges.c.tenant_id == tenant_id, edges.c.id == edge_id)).first()
    if row is None or not secret_matches(secret, row.secret_hash):
        raise EdgeUnauthorized("unknown edge or wrong secret")
    if row.revoked_at is not None:
        raise EdgeUnauthorized("this edge was revoked")
    return EdgeCaller(tenant_id, edge_id, row.site_id)


def reveal(config: AnyMachine) -> dict[str, Any]:
    """A machine config as JSON with its passwords in clear (for the edge that connects with them)."""
    data = config.model_dump(mode="json")
    endpoint = config.endpoint
    password = getattr(endpoint, "password", None)
    if isinstance(password, SecretStr):
        data["endpoint"]["password"] = password.get_secret_value()
    security = getattr(endpoint, "security", None)
    key_password = getattr(security, "private_key_password", None)
    if isinstance(key_password, SecretStr):
        data["endpoint"]["security"]["private_key_password"] = key_password.get_secret_value()
    return data


def edge_config(conn: Connection, caller: EdgeCaller, keys: DerivedKeys) -> EdgeConfigOut:
    """The site's enabled connections of active machines; settings that do not validate are left out
    (the central server reports them on the machine)."""
    stmt = (
        select(*(mc.c[c] for c in _CONFIG_COLUMNS), *(machines.c[c] for c in _MACHINE_COLUMNS))
        .join(machines, (machines.c.tenant_id == mc.c.tenant_id) & (machines.c.id == mc.c.machine_id))
        .where(mc.c.tenant_id == caller.tenant_id, mc.c.enabled, machines.c.status == "active",
               machines.c.site_id == caller.site_id)
        .order_by(machines.c.code)
    )
    configs: list[dict[str, Any]] = []
    ids: list[UUID] = []
    for row in conn.execute(stmt).mappings():
        record: Any = dict(row)
        try:
            config = machine_config(caller.tenant_id, record, record, keys)
        except FactoryOSError:
            continue
        configs.append(reveal(config))
        ids.append(row["id"])
    baselines: dict[str, dict[str, StoredCounterOut]] = {}
    for stored in load_counter_state(conn, caller.tenant_id, ids):
        baselines.setdefault(poll_id(caller.tenant_id, stored.machine_id), {})[stored.signal] = StoredCounterOut(
            raw=stored.raw, read_at=stored.read_at)
    return EdgeConfigOut(edge_id=caller.edge_id, group_id=str(caller.tenant_id), site_id=caller.site_id,
                         machines=configs, baselines=baselines)


def edge_served_sites(conn: Connection, tenant_id: UUID) -> set[UUID]:
    """Sites with an edge in force: their machines are the edge's to poll, not the central poller's."""
    return set(conn.execute(select(edges.c.site_id).where(edges.c.tenant_id == tenant_id,
                                                          edges.c.revoked_at.is_(None))).scalars())


# -- broker ------------------------------------------------------------------------------
def broker_files(rows: list[tuple[UUID, UUID, str]], ingest_users: dict[str, str]) -> tuple[str, str]:
    """(password file, ACL file) for Mosquitto.

    `rows`: (company, edge, stored hash) of every edge in force; `ingest_users`: user → password of
    the ingest processes. Each edge may publish only under its own company's group and its own
    edge node id, and read only the commands sent to it; the ingest reads everything."""
    passwords = [f"{user}:{hash_secret(password)}" for user, password in sorted(ingest_users.items())]
    acl = ["# Written by `factoryos edge broker-acl`: do not edit, write it again."]
    for user in sorted(ingest_users):
        acl += [f"user {user}", f"topic read {NAMESPACE}/#", f"topic write {NAMESPACE}/+/NCMD/#",
                f"topic write {NAMESPACE}/STATE/#", ""]
    for tenant_id, edge_id, stored in rows:
        passwords.append(f"{edge_id}:{stored}")
        group = f"{NAMESPACE}/{tenant_id}"
        acl += [f"user {edge_id}"]
        acl += [f"topic write {group}/{kind}/{edge_id}" for kind in ("NBIRTH", "NDEATH", "NDATA")]
        acl += [f"topic write {group}/{kind}/{edge_id}/+" for kind in ("DBIRTH", "DDEATH", "DDATA")]
        acl += [f"topic read {group}/NCMD/{edge_id}", f"topic read {group}/DCMD/{edge_id}/+",
                f"topic read {NAMESPACE}/STATE/+", ""]
    return "\n".join(passwords) + "\n", "\n".join(acl) + "\n"


def edges_in_force(conn: Connection, tenant_id: UUID) -> list[tuple[UUID, UUID, str]]:
    return [(r.tenant_id, r.id, r.secret_hash) for r in conn.execute(
        select(edges.c.tenant_id, edges.c.id, edges.c.secret_hash)
        .where(edges.c.tenant_id == tenant_id, edges.c.revoked_at.is_(None)).order_by(edges.c.id))]


# -- the ingest's checks -----------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


class EdgeDirectory:
    """Answers "may this edge publish this machine?" from the database, remembered for `ttl` s
    (a revocation or a machine moved to another site takes effect within that time)."""

    def __init__(self, engine: Engine, ttl: float = 5.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._edges: dict[tuple[UUID, UUID], tuple[float, UUID | None, datetime | None]] = {}
        self._machines: dict[tuple[UUID, UUID], tuple[float, UUID | None]] = {}

    def check(self, tenant_id: UUID, edge_id: UUID, machine_ids: set[UUID]) -> dict[UUID, Verdict]:
        """Blocking (run in a thread): one verdict per machine."""
        now = time.monotonic()
        edge = self._edges.get((tenant_id, edge_id))
        missing = {m for m in machine_ids if (c := self._machines.get((tenant_id, m))) is None or c[0] < now}
        if edge is None or edge[0] < now or missing:
            with tenant_transaction(self._engine, tenant_id) as conn:
                if edge is None or edge[0] < now:
                    row = conn.execute(select(edges.c.site_id, edges.c.revoked_at)
                                       .where(edges.c.tenant_id == tenant_id, edges.c.id == edge_id)).first()
                    edge = (now + self._ttl, row.site_id if row else None, row.revoked_at if row else None)
                    self._edges[(tenant_id, edge_id)] = edge
                if missing:
                    found = {r.id: r.site_id for r in conn.execute(select(machines.c.id, machines.c.site_id).where(
                        machines.c.tenant_id == tenant_id, machines.c.id.in_(sorted(missing))))}
                    for m in missing:
                        self._machines[(tenant_id, m)] = (now + self._ttl, found.get(m))
        _, site_id, revoked_at = edge
        if site_id is None:
            return {m: Verdict(False, "unknown edge") for m in machine_ids}
        if revoked_at is not None:
            return {m: Verdict(False, "revoked edge") for m in machine_ids}
        out = {}
        for m in machine_ids:
            machine_site = self._machines[(tenant_id, m)][1]
            if machine_site is None:
                out[m] = Verdict(False, "unknown machine")
            elif machine_site != site_id:
                out[m] = Verdict(False, "machine of another site")
            else:
                out[m] = Verdict(True)
        return out

    def site_of(self, tenant_id: UUID, edge_id: UUID) -> UUID | None:
        cached = self._edges.get((tenant_id, edge_id))
        return cached[1] if cached else None
