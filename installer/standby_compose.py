"""Warm standby of a Compose install, run on the hosts: `factoryos standby pair` on the primary,
`factoryos install --standby-of HOST --pair-file F` on the second host, `factoryos standby
status|promote --install-dir DIR` there.

The primary's database gets a TLS certificate and pg_hba lines in its data directory (so the standby's
copy has them too), the standby's own replication role, and a published port. The standby's database
volume is a `pg_basebackup` of the primary, taken over TLS by a one-off container of the installed
postgres image; only its postgres service runs (a hot standby) until the promotion starts the api,
the web screens and nginx on it. The api is not started before: its start writes (roles, migrations).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import psycopg

from factoryos.audit.anchors import KEY_FILE
from factoryos.backup.standby import (
    REPLICATION_ROLE,
    SLOT,
    STATE_AS_JSON,
    ReplicaState,
    StandbyError,
    state_of,
    wait_promoted,
)
from factoryos.backup.standby_fence import FENCE_DIR, PEER_FILE, PeerFile
from factoryos.errors import Conflict
from installer import envfile
from installer.errors import InstallError
from installer.health import base_url, wait_healthy
from installer.layout import Layout
from installer.stack import Stack
from installer.standby_pair import PairFile, paired_hba, replication_certificate, standby_networks
from installer.tls import trust_anchor

Progress = Callable[[str], None]

# .env keys (not secret) of a paired primary and of a standby
REPLICATION_PORT = "FACTORYOS_REPLICATION_PORT"
REPLICATION_BIND = "FACTORYOS_REPLICATION_BIND"
STANDBY_OF = "FACTORYOS_STANDBY_OF"  # host:port of the primary; "" once promoted
VOLUME_ENV = "FACTORYOS_PGDATA_VOLUME"
PGDATA = "/var/lib/postgresql/data"
APP_DATA = "/var/lib/factoryos"  # the api's data volume
PAIR_FILE_NAME = "standby-pair.json"
CERT_NAME, KEY_NAME, PRIMARY_CA = "replication.crt", "replication.key", "primary-ca.crt"

_PGBIN = 'PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"'
# As postgres in a one-off container: the primary's copy into the empty volume, then what makes it a
# standby of it: the primary's certificate to check, the signal file and the connection (its password
# inside: postgresql.auto.conf is the postgres user's alone, like the data it protects).
_CLONE = f"""set -eu
{_PGBIN}
"$PGBIN/pg_basebackup" --dbname="$CONNINFO sslrootcert=/pair/{PRIMARY_CA}" --no-password -D "$PGDATA" \\
    --wal-method=stream --checkpoint=fast --create-slot --slot={SLOT} --label="factoryos standby"
cp /pair/{PRIMARY_CA} "$PGDATA/{PRIMARY_CA}"
chmod 0600 "$PGDATA/{PRIMARY_CA}"
touch "$PGDATA/standby.signal"
printf "primary_conninfo = '%s'\\nprimary_slot_name = '{SLOT}'\\n" \\
    "$CONNINFO sslrootcert=$PGDATA/{PRIMARY_CA} password=$PGPASSWORD" >> "$PGDATA/postgresql.auto.conf"
"""


def volume_name(layout: Layout, project: str) -> str:
    stored = envfile.read_env(layout.env_file).get(VOLUME_ENV) if layout.env_file.exists() else None
    return stored or f"{project}_pgdata"


# -- the primary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairResult:
    pair: PairFile
    path: Path
    standby: list[str]  # the networks pg_hba admits the standby's role from
    peer: tuple[str, int]  # where this primary looks for the standby's database, to see a promotion


def pair_primary(root: Path, standby_host: str, *, bind: str | None = None, port: int = 5432,
                 advertise: str | None = None, standby_db: str | None = None, out: Path | None = None,
                 wait_timeout: int = 300, progress: Progress = lambda message: None) -> PairResult:  # fmt: skip
    """Make the installation in `root` ready to stream to a standby at `standby_host` and write the
    pair file; give this primary's api what it needs to see the standby promoted (`standby_db`: HOST[:PORT]
    the promoted standby publishes its database on; default: the standby's address, this port). Run again
    to change the addresses or to hand out a new password (the old one stops)."""
    layout = _installed(root)
    state = layout.read_state() or {}
    env = envfile.read_env(layout.env_file)
    if env.get(STANDBY_OF):
        raise Conflict(f"the installation in {layout.root} is itself a standby (of {env[STANDBY_OF]}): pair its "
                       "primary, or promote it first", code="standby_failed")  # fmt: skip
    standby = standby_networks(standby_host)
    listen = bind or str(state.get("bind_ip") or "")
    host = advertise or listen
    if not listen or (listen == "0.0.0.0" and not advertise):
        raise InstallError("name the address the standby reaches this database at: --bind IP", code="bind_invalid")
    peer = peer_address(standby_host, standby_db, port)
    stack = Stack(layout.root)
    progress("the database's TLS certificate and access rules")
    cert, key = _certificate(layout)
    _put(stack, CERT_NAME, cert)
    _put(stack, KEY_NAME, key)
    hba = _psql_file(stack, "pg_hba.conf")
    # The standby's copy of these rules must let this primary's check in too (its role, over TLS).
    _put(stack, "pg_hba.conf", paired_hba(hba, [*standby, *_own_network(host)]).encode())
    password = secrets.token_urlsafe(24)
    identity = _configure_primary(stack, password)
    progress(f"publishing the database on {listen}:{port} (the database restarts)")
    envfile.set_values(layout.env_file, {REPLICATION_BIND: listen, REPLICATION_PORT: str(port)})
    from installer.deploy import rewrite_compose  # deploy imports this module's names

    rewrite_compose(layout)
    stack.up(wait_timeout)
    env = envfile.read_env(layout.env_file)
    pair = PairFile(host=host, port=port, identity=identity, password=password, ca_pem=cert.decode(),
                    secrets={name: env[name] for name in envfile.SECRET_NAMES}, audit_key=_audit_key(stack),
                    version=env.get(envfile.VERSION, ""),
                    created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))  # fmt: skip
    path = pair.write(out or layout.root / PAIR_FILE_NAME)
    progress(f"the api looks for a promoted standby at {peer[0]}:{peer[1]}")
    install_peer_file(stack, PeerFile(peer[0], peer[1], password, cert.decode()))
    return PairResult(pair, path, standby, peer)


def peer_address(standby_host: str, standby_db: str | None, port: int) -> tuple[str, int]:
    """`--standby-db HOST[:PORT]`, else the first single address of `--standby-host` at `port`."""
    if standby_db:
        host, _, given = standby_db.rpartition(":") if standby_db.count(":") == 1 else (standby_db, "", "")
        try:
            return host, int(given) if given else port
        except ValueError:
            raise StandbyError(f"--standby-db {standby_db}: HOST or HOST:PORT", code="standby_failed") from None
    single = [n.split("/")[0] for n in standby_networks(standby_host) if n.endswith(("/32", "/128"))]
    if not single:
        raise StandbyError("name where the standby's database is reached once it is promoted: --standby-db "
                           "HOST[:PORT] (--standby-host names only networks)", code="standby_failed")  # fmt: skip
    return single[0], port


def _own_network(host: str) -> list[str]:
    try:
        return standby_networks(host)
    except StandbyError:  # a DNS name: the standby-host networks must cover this host's address
        return []


def install_peer_file(stack: Stack, peer: PeerFile) -> None:
    """Into the running api's data directory, as its user, 0600 (the replication role's password)."""
    script = (f'umask 077 && mkdir -p "$1/{FENCE_DIR}" && cat > "$1/{FENCE_DIR}/.{PEER_FILE}.new" '
              f'&& mv "$1/{FENCE_DIR}/.{PEER_FILE}.new" "$1/{FENCE_DIR}/{PEER_FILE}"')  # fmt: skip
    run = stack.run_input(peer.dump().encode(), "exec", "-T", "api", "sh", "-c", script, "sh", APP_DATA, timeout=120)
    if run.returncode != 0:
        raise StandbyError(f"giving the api the standby's address failed: {_last(run.stderr)}", code="standby_failed")


def _audit_key(stack: Stack) -> str:
    """The api's audit signing key ("" before its first start made one)."""
    run = stack.run("exec", "-T", "api", "cat", f"{APP_DATA}/{KEY_FILE}", timeout=60)
    return run.stdout if run.returncode == 0 and "PRIVATE KEY" in run.stdout else ""


def install_audit_key(stack: Stack, key_pem: str, uid: int) -> None:
    """The primary's audit signing key into the standby's api data volume, before its api ever starts (it
    would make a key of its own). A one-off api container creates the volume as the api would. A fence
    left in a kept volume by this host's life as a superseded primary goes: this is a new standby."""
    script = (f'umask 077 && rm -rf "$1/{FENCE_DIR}" && cat > "$1/.{KEY_FILE}.new" '
              f'&& chown {uid}:{uid} "$1/.{KEY_FILE}.new" && mv "$1/.{KEY_FILE}.new" "$1/{KEY_FILE}"')  # fmt: skip
    run = stack.run_input(key_pem.encode(), "run", "--rm", "--no-deps", "-T", "--user", "0:0", "--entrypoint", "sh",
                          "api", "-c", script, "sh", APP_DATA, timeout=300)  # fmt: skip
    if run.returncode != 0:
        raise StandbyError(f"placing the audit signing key failed: {_last(run.stderr)}", code="standby_failed")


def _installed(root: Path) -> Layout:
    layout = Layout(root.resolve())
    if layout.read_state() is None:
        raise InstallError(f"no FactoryOS installation in {layout.root}", code="not_installed")
    return layout


def _certificate(layout: Layout) -> tuple[bytes, bytes]:
    """Made once and kept beside the installation's other TLS files: pairing again keeps the standby's trust."""
    cert_file, key_file = layout.tls.directory / CERT_NAME, layout.tls.directory / KEY_NAME
    if cert_file.exists() and key_file.exists():
        return cert_file.read_bytes(), key_file.read_bytes()
    cert, key = replication_certificate(layout.root.name)
    layout.tls.directory.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_bytes(key)
    cert_file.write_bytes(cert)
    return cert, key


def _put(stack: Stack, name: str, content: bytes) -> None:
    """A file into the database's data directory, as its postgres user, 0600."""
    run = stack.run_input(content, "exec", "-T", "postgres", "sh", "-c",
                          'umask 077 && cat > "$PGDATA/$1.new" && mv "$PGDATA/$1.new" "$PGDATA/$1"', "sh", name)  # fmt: skip
    if run.returncode != 0:
        raise StandbyError(f"writing {name} into the database's folder failed: {_last(run.stderr)}",
                           code="standby_failed")  # fmt: skip


def _psql_file(stack: Stack, name: str) -> str:
    run = stack.run("exec", "-T", "postgres", "sh", "-c", 'cat "$PGDATA/$1"', "sh", name, timeout=60)
    if run.returncode != 0:
        raise StandbyError(f"reading the database's {name} failed: {_last(run.stderr)}", code="standby_failed")
    return run.stdout


def _configure_primary(stack: Stack, password: str) -> str:
    """The replication role (a new password), TLS on, the rules reloaded; returns the system identifier."""
    script = "\n".join([
        "\\set ON_ERROR_STOP on",
        f"\\set pw '{password}'",  # token_urlsafe: no quote can end the literal
        "select format('%s role %I with login replication noinherit password %L', "
        "case when exists (select from pg_roles where rolname = :'role') then 'alter' else 'create' end, "
        ":'role', :'pw') \\gexec",
        f"alter system set ssl_cert_file = '{CERT_NAME}';",
        f"alter system set ssl_key_file = '{KEY_NAME}';",
        "alter system set ssl = on;",
        "select pg_reload_conf();",
        "select 'identity=' || system_identifier from pg_control_system();",
    ]) + "\n"  # fmt: skip
    run = stack.run_input(script.encode(), "exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "postgres",
                          "-qtA", "-v", f"role={REPLICATION_ROLE}", "-f", "-")  # fmt: skip
    if run.returncode != 0:
        raise StandbyError(f"preparing the database for a standby failed: {_last(run.stderr)}", code="standby_failed")
    lines = run.stdout.decode(errors="replace").splitlines()
    found = [line.split("=", 1)[1] for line in lines if line.startswith("identity=")]
    if not found:
        raise StandbyError("the database did not say which one it is", code="standby_failed")
    return found[-1]


# -- the standby ----------------------------------------------------------------------------------


def primary_address(pair: PairFile, standby_of: str | None) -> tuple[str, int]:
    """`--standby-of HOST[:PORT]`, else the address in the pair file."""
    if not standby_of:
        return pair.host, pair.port
    host, _, port = standby_of.rpartition(":") if standby_of.count(":") == 1 else (standby_of, "", "")
    try:
        return host, int(port) if port else pair.port
    except ValueError:
        raise StandbyError(f"--standby-of {standby_of}: HOST or HOST:PORT", code="standby_failed") from None


@contextmanager
def _pair_dir(pair: PairFile) -> Iterator[Path]:
    """The primary's certificate in a folder of its own (mounted into the clone's container)."""
    folder = Path(tempfile.mkdtemp(prefix="factoryos-pair-"))
    try:
        folder.chmod(0o755)
        (folder / PRIMARY_CA).write_text(pair.ca_pem)
        (folder / PRIMARY_CA).chmod(0o644)  # a certificate: public
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_primary(pair: PairFile, host: str, port: int) -> str:
    """Over the standby's own role, TLS checked against the pair's certificate: refuse a primary of another
    installation; free the replication slot a former standby left (an active one: refused)."""
    with _pair_dir(pair) as folder:
        try:
            with psycopg.connect(pair.conninfo(str(folder / PRIMARY_CA), host=host, port=port),
                                 password=pair.password, replication="true", autocommit=True) as conn:  # fmt: skip
                result = conn.pgconn.exec_(b"IDENTIFY_SYSTEM")
                value = result.get_value(0, 0) if result.ntuples else None
                found = value.decode() if value is not None else ""
                if found != pair.identity:
                    raise StandbyError(f"the database at {host}:{port} belongs to another installation (database "
                                       f"{found or '?'}, the pair file names {pair.identity}): a standby is made "
                                       "only from its own primary", code="standby_other_installation", status=409)  # fmt: skip
                _free_slot(conn, host)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StandbyError(f"the primary's database at {host}:{port} does not let this standby in: {first}",
                               code="standby_clone_failed") from None  # fmt: skip
    return found


def _free_slot(conn: psycopg.Connection, host: str) -> None:
    result = conn.pgconn.exec_(f"DROP_REPLICATION_SLOT {SLOT}".encode())
    message = (result.error_message or b"").decode(errors="replace")
    if result.status == psycopg.pq.ExecStatus.FATAL_ERROR and "does not exist" not in message:
        raise StandbyError(f"a standby already streams from {host} ({message.strip()}): stop it first",
                           code="standby_clone_failed", status=409)  # fmt: skip


def clone_into_volume(pair: PairFile, host: str, port: int, *, image: str, volume: str, project: str,
                      client_factory: Callable[[], docker.DockerClient] = docker.from_env) -> None:  # fmt: skip
    """The primary's base backup into a new volume for this installation's postgres service."""
    client = client_factory()
    try:
        try:
            client.volumes.get(volume)
            raise StandbyError(f"volume {volume} exists: a standby is cloned into a new one "
                               "(`factoryos uninstall` removes the old)", code="standby_target_not_empty", status=409)  # fmt: skip
        except docker.errors.NotFound:
            pass
        client.volumes.create(volume, labels={"com.docker.compose.project": project,
                                              "com.docker.compose.volume": "pgdata"})  # fmt: skip
        with _pair_dir(pair) as folder:
            try:
                client.containers.run(
                    image, entrypoint=["/bin/sh", "-c", _CLONE], user="postgres", remove=True,
                    environment={"PGDATA": PGDATA, "PGPASSWORD": pair.password,
                                 "CONNINFO": pair.conninfo(None, host=host, port=port)},
                    volumes={volume: {"bind": PGDATA, "mode": "rw"}, str(folder): {"bind": "/pair", "mode": "ro"}},
                )  # fmt: skip
            except docker.errors.ContainerError as exc:
                client.volumes.get(volume).remove(force=True)
                raise StandbyError(f"copying the primary failed: {_last(exc.stderr)}",
                                   code="standby_clone_failed") from None  # fmt: skip
    finally:
        client.close()


def compose_state(stack: Stack) -> ReplicaState:
    run = stack.run("exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "postgres", "-qtAc", STATE_AS_JSON,
                    timeout=60)  # fmt: skip
    if run.returncode != 0:
        raise StandbyError(f"the database does not answer: {_last(run.stderr)}", code="standby_failed")
    return state_of(json.loads(run.stdout.strip().splitlines()[-1]))


def wait_streaming(stack: Stack, seconds: float = 120) -> ReplicaState:
    deadline = time.monotonic() + seconds
    while True:
        state = compose_state(stack)
        if state.streaming or time.monotonic() > deadline:
            return state
        time.sleep(1)


@dataclass(frozen=True)
class Promotion:
    state: ReplicaState
    url: str
    seconds: float  # from the command to the api healthy through nginx (RTO of the switch)
    promote_seconds: float  # of which: the database out of recovery


def promote_compose(root: Path, *, db_bind: str | None = None, db_port: int | None = None,
                    wait_timeout: int = 600) -> Promotion:  # fmt: skip
    """The standby's database becomes the primary and is published on `db_bind`:`db_port` (default: the
    installation's address, the port the old primary published), where the old primary's api finds it
    promoted and stops taking writes; then its api, web screens and nginx start."""
    started = time.monotonic()
    layout = _installed(root)
    stack = Stack(layout.root)
    previous = layout.read_state() or {}
    env = envfile.read_env(layout.env_file)
    of = previous.get("standby_of")
    bind = db_bind or env.get(REPLICATION_BIND) or str(previous.get("bind_ip") or "")
    port = db_port or int(env.get(REPLICATION_PORT) or 0) or int((of.get("port") if isinstance(of, dict) else 0) or 5432)
    if not compose_state(stack).in_recovery:
        raise Conflict("this database is already a primary: nothing to promote", code="standby_not_replica")
    # Signalled, then watched (see factoryos.backup.standby.promote for why not pg_promote(true)).
    run = stack.run("exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "postgres", "-qtAc",
                    "select pg_promote(false)", timeout=60)  # fmt: skip
    if run.returncode != 0 or run.stdout.strip() != "t":
        raise StandbyError(f"the standby refused the promotion: {_last(run.stderr or run.stdout)}",
                           code="standby_promote_failed")  # fmt: skip
    state = wait_promoted(lambda: compose_state(stack), 60)
    promoted = time.monotonic()
    envfile.set_values(layout.env_file, {STANDBY_OF: "", REPLICATION_BIND: bind, REPLICATION_PORT: str(port)})
    layout.write_state({**previous, "standby_of": None, "promoted_at": dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds")})  # fmt: skip
    from installer.deploy import rewrite_compose  # deploy imports this module's names

    rewrite_compose(layout)
    stack.up(wait_timeout)
    url = str(previous.get("url") or base_url(str(previous.get("bind_ip")), int(previous.get("https_port") or 443)))
    wait_healthy(url, trust_anchor(layout.tls), timeout=float(wait_timeout))
    done = time.monotonic()
    return Promotion(state, url, done - started, promoted - started)


def _last(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
