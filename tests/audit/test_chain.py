"""Append-only at the database level, hash chain verified, tampering named, concurrency safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import Engine, text

from factoryos.audit.chain import canonical, canonical_parts, row_hash
from factoryos.audit.verify import verify_chain
from factoryos.audit.writer import AuditEvent, append_and_commit, ensure_partitions, record
from factoryos.db.roles import libpq_url
from factoryos.db.tenant import set_tenant, tenant_transaction


def new_company(superuser_engine: Engine, name: str | None = None) -> uuid.UUID:
    tenant = uuid.uuid4()
    with superuser_engine.begin() as conn:
        conn.execute(
            text("insert into companies (tenant_id, name) values (:t, :n)"),
            {"t": tenant, "n": name or f"Audit Co {tenant.hex[:8]}"},
        )
    return tenant


def write_events(app_engine: Engine, tenant: uuid.UUID, n: int, actor: uuid.UUID | None = None) -> None:
    for i in range(n):
        with tenant_transaction(app_engine, tenant, actor) as conn:
            record(
                conn,
                AuditEvent(
                    tenant_id=tenant, action="update", entity_type="machine", entity_id=f"M-{i}",
                    actor_id=actor, before={"qty": i}, after={"qty": i + 1, "note": "Żółć ✓"},
                    client_ip="10.0.0.7", user_agent="pytest", request_id=f"req-{i}",
                ),
            )


@pytest.fixture()
def tenant(superuser_engine: Engine) -> uuid.UUID:
    return new_company(superuser_engine)


def test_chain_of_a_tenant_verifies(app_engine, superuser_engine, tenant) -> None:
    write_events(app_engine, tenant, 5)
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
    assert report.ok and report.rows == 5
    with tenant_transaction(app_engine, tenant) as conn:
        seqs = list(conn.execute(text("select seq from audit_log order by seq")).scalars())
    assert seqs == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("role", ["app", "owner", "admin"])
@pytest.mark.parametrize(
    "statement",
    ["update audit_log set action = 'delete'", "delete from audit_log", "truncate audit_log"],
)
def test_audit_log_cannot_be_changed_by_any_role(db_urls, app_engine, tenant, role, statement) -> None:
    write_events(app_engine, tenant, 1)
    url = {"app": db_urls.app, "owner": db_urls.owner, "admin": db_urls.admin.replace("/postgres?", "/factoryos_test?")}[role]
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)


def test_partitions_cannot_be_truncated_directly(db_urls, app_engine, tenant) -> None:
    write_events(app_engine, tenant, 1)
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        part = conn.execute(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'audit_log'::regclass and c.relname <> 'audit_log_default' limit 1"
        ).fetchone()[0]
        # Refused twice over: the owner does not own it (the audit role does), and the trigger.
        with pytest.raises(errors.InsufficientPrivilege, match="append-only|must be owner|permission denied"):
            conn.execute(f'truncate "{part}"')


def test_tampering_with_one_row_is_named_by_verify(app_engine, superuser_engine, tenant) -> None:
    write_events(app_engine, tenant, 6)
    with superuser_engine.begin() as conn:
        # Only a superuser switching triggers off can do this; verify must still catch it.
        conn.execute(text("set local session_replication_role = replica"))
        conn.execute(
            text("update audit_log set after = '{\"qty\": 999}' where tenant_id = :t and seq = 4"), {"t": tenant}
        )
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
        broken_id = conn.execute(text("select id from audit_log where tenant_id = :t and seq = 4"), {"t": tenant}).scalar()
    assert not report.ok
    assert (report.broken_seq, report.broken_id, report.rows) == (4, broken_id, 3)
    assert "modified" in report.reason


def test_deleted_row_is_named_by_verify(app_engine, superuser_engine, tenant) -> None:
    write_events(app_engine, tenant, 5)
    with superuser_engine.begin() as conn:
        conn.execute(text("set local session_replication_role = replica"))
        conn.execute(text("delete from audit_log where tenant_id = :t and seq = 2"), {"t": tenant})
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
    assert not report.ok and report.broken_seq == 2 and "missing" in report.reason


def test_truncated_tail_is_detected_by_the_head(app_engine, superuser_engine, tenant) -> None:
    write_events(app_engine, tenant, 4)
    with superuser_engine.begin() as conn:
        conn.execute(text("set local session_replication_role = replica"))
        conn.execute(text("delete from audit_log where tenant_id = :t and seq = 4"), {"t": tenant})
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
    assert not report.ok and "removed" in report.reason


def test_concurrent_writers_keep_an_unbroken_chain(app_engine, superuser_engine, tenant) -> None:
    errors_seen: list[BaseException] = []

    def worker() -> None:
        try:
            write_events(app_engine, tenant, 200)
        except BaseException as exc:  # surfaced below
            errors_seen.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
    assert report.ok and report.rows == 1600


def test_a_companys_first_rows_written_at_once_still_chain(app_engine, superuser_engine, tenant) -> None:
    """No head row to lock yet: the second writer must wait for the first and chain after it."""
    def event(i: int) -> AuditEvent:
        return AuditEvent(tenant_id=tenant, action="create", entity_type="machine", entity_id=f"M-{i}")

    second_done = threading.Event()

    def second() -> None:
        write_events(app_engine, tenant, 1)
        second_done.set()

    with tenant_transaction(app_engine, tenant) as conn:
        first = record(conn, event(0))
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not second_done.wait(0.5)  # blocked behind the uncommitted first row
    waiter.join(timeout=30)
    assert second_done.is_set() and first["seq"] == 1
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
        seqs = conn.execute(text("select seq from audit_log where tenant_id = :t order by seq"), {"t": tenant}).scalars()
        assert list(seqs) == [1, 2]
    assert report.ok and report.rows == 2


def test_the_database_hashes_a_row_as_the_chain_defines_it(app_engine, tenant) -> None:
    odd = {"quote": 'a "b" \\ c', "unicode": "Żółć ✓ 日本", "nested": {"z": [1, 2.5, None, True], "a": {}}}
    rows = []
    for i in range(3):  # the first row is hashed here, the others in the database
        with tenant_transaction(app_engine, tenant) as conn:
            rows.append(record(conn, AuditEvent(tenant_id=tenant, action="update", entity_type="thing",
                                                entity_id=f"T-{i}", before=odd, after={"i": i, **odd},
                                                user_agent="ü-agent", client_ip="::1")))
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert [r["prev_hash"] for r in rows[1:]] == [r["row_hash"] for r in rows[:-1]]
    for r in rows:
        assert r["row_hash"] == row_hash(r)
        head, mid, tail = canonical_parts(r)
        assert (head + r["prev_hash"] + mid + str(r["seq"]) + tail).encode() == canonical(r)


def test_pipelined_appends_and_single_ones_share_one_unbroken_chain(app_engine, superuser_engine, tenant) -> None:
    """The request path (append and commit in one pipeline) and `record` (advisory lock for a
    first row), racing from a company's very first row on."""
    errors_seen: list[BaseException] = []

    def pipelined(n: int) -> None:
        try:
            for i in range(n):
                with app_engine.connect() as conn:
                    conn.begin()
                    set_tenant(conn, tenant)
                    append_and_commit(conn, [AuditEvent(tenant_id=tenant, action="create", entity_type="entry",
                                                        entity_id=f"E-{i}-{j}", after={"n": j, "note": "Żółć"})
                                             for j in range(2)])
                    conn.commit()  # nothing left: the pipeline committed
        except BaseException as exc:  # surfaced below
            errors_seen.append(exc)

    def single() -> None:
        try:
            write_events(app_engine, tenant, 40)
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [threading.Thread(target=pipelined, args=(30,)) for _ in range(4)]
    threads += [threading.Thread(target=single) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen
    with superuser_engine.connect() as conn:
        report = verify_chain(conn, tenant)
    assert report.ok and report.rows == 4 * 30 * 2 + 2 * 40


def test_rolled_back_change_leaves_no_audit_row(app_engine, superuser_engine, tenant) -> None:
    with pytest.raises(RuntimeError):
        with tenant_transaction(app_engine, tenant) as conn:
            conn.execute(text("insert into sites (tenant_id, name, code, timezone) values (:t, 'x', 'RB', 'UTC')"), {"t": tenant})
            record(conn, AuditEvent(tenant_id=tenant, action="create", entity_type="site", entity_id="RB"))
            raise RuntimeError("the change failed after its audit row was written")
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from audit_log where tenant_id = :t"), {"t": tenant}).scalar() == 0
        assert conn.execute(text("select count(*) from sites where tenant_id = :t"), {"t": tenant}).scalar() == 0


def test_partitions_are_prepared_idempotently(app_engine) -> None:
    with app_engine.begin() as conn:
        ensure_partitions(conn, 24)
        assert ensure_partitions(conn, 24) == 0


def _cli(db_urls, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "FACTORYOS_DATABASE_URL": db_urls.app,
        "FACTORYOS_ADMIN_DATABASE_URL": db_urls.admin,
        "FACTORYOS_DATABASE_NAME": "factoryos_test",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.slow  # the CLI in 3 fresh processes, each importing every command
def test_cli_verify_ok_then_names_the_tampered_row(db_urls, app_engine, superuser_engine) -> None:
    tenant = new_company(superuser_engine, name=f"CLI Verify {uuid.uuid4().hex[:6]}")
    write_events(app_engine, tenant, 3)
    name = f"CLI Verify"
    with superuser_engine.connect() as conn:
        company = conn.execute(text("select name from companies where tenant_id = :t"), {"t": tenant}).scalar()
    good = _cli(db_urls, "audit", "verify", "--company", company)
    assert good.returncode == 0, good.stderr
    assert f"{company}: OK, 3 rows" in good.stdout
    with superuser_engine.begin() as conn:
        conn.execute(text("set local session_replication_role = replica"))
        conn.execute(text("update audit_log set actor_id = gen_random_uuid() where tenant_id = :t and seq = 2"), {"t": tenant})
    bad = _cli(db_urls, "audit", "verify", "--company", str(tenant))
    assert bad.returncode == 1
    assert "chain broken at row seq 2" in bad.stderr and name in bad.stderr
    unknown = _cli(db_urls, "audit", "verify", "--company", "No Such Company")
    assert unknown.returncode == 1 and "no company" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.slow  # the CLI in 3 fresh processes, each importing every command
def test_cli_export_jsonl_and_csv(db_urls, app_engine, superuser_engine, tmp_path) -> None:
    tenant = new_company(superuser_engine)
    write_events(app_engine, tenant, 3)
    out = tmp_path / "audit.jsonl"
    r = _cli(db_urls, "audit", "export", "--company", str(tenant), "--format", "jsonl", "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["seq"] for row in rows] == [1, 2, 3]
    assert rows[0]["after"] == {"qty": 1, "note": "Żółć ✓"} and rows[0]["client_ip"] == "10.0.0.7"
    csv_out = tmp_path / "audit.csv"
    r = _cli(db_urls, "audit", "export", "--company", str(tenant), "--format", "csv", "-o", str(csv_out))
    assert r.returncode == 0, r.stderr
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("tenant_id,seq,ts") and len(lines) == 4
    bad = _cli(db_urls, "audit", "export", "--format", "xml")
    assert bad.returncode == 1 and "--format must be csv or jsonl" in bad.stderr
