"""Signed anchors catch what the hash chain cannot: a superuser who rewrites rows and recomputes
every later hash and the head (security round two, item 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from factoryos.audit.anchoring import Anchorer
from factoryos.audit.anchors import ANCHOR_FILE, AnchorLog, set_aside_after_restore
from factoryos.audit.chain import row_hash
from factoryos.audit.verify import verify_chain
from tests.audit.test_chain import new_company, write_events


def _cli(db_urls, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FACTORYOS_DATABASE_URL": db_urls.app, "FACTORYOS_ADMIN_DATABASE_URL": db_urls.admin,
           "FACTORYOS_DATABASE_NAME": "factoryos_test", "FACTORYOS_DATA_DIR": str(data_dir), "NO_COLOR": "1",
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def _rewrite_from(superuser_engine: Engine, tenant: uuid.UUID, seq: int) -> None:
    """What a database superuser can do: change a row, then recompute every later hash and the head."""
    with superuser_engine.begin() as conn:
        conn.execute(text("set local session_replication_role = replica"))  # past the append-only triggers
        rows = [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t order by seq"), {"t": tenant}).mappings()]
        prev = rows[seq - 2]["row_hash"] if seq > 1 else "0" * 64
        for row in rows[seq - 1:]:
            if row["seq"] == seq:
                row["after"] = {**(row["after"] or {}), "qty": 999}
            row["prev_hash"] = prev
            row["row_hash"] = row_hash(row)
            conn.execute(text("update audit_log set after = cast(:after as jsonb), prev_hash = :p, row_hash = :h "
                              "where tenant_id = :t and seq = :s"),
                         {"after": json.dumps(row["after"]), "p": row["prev_hash"], "h": row["row_hash"],
                          "t": tenant, "s": row["seq"]})
            prev = row["row_hash"]
        conn.execute(text("update audit_chain_heads set row_hash = :h where tenant_id = :t"), {"h": prev, "t": tenant})


@pytest.mark.slow  # the CLI in 4 fresh processes, each importing every command
def test_a_recomputed_chain_passes_the_hashes_but_not_the_anchors(db_urls, app_engine, superuser_engine,
                                                                  tmp_path) -> None:
    tenant = new_company(superuser_engine, name=f"Anchored {uuid.uuid4().hex[:6]}")
    anchorer = Anchorer(superuser_engine, tmp_path)
    write_events(app_engine, tenant, 2)
    assert anchorer.anchor_now() >= 1
    write_events(app_engine, tenant, 3)
    assert anchorer.anchor_now() >= 1
    assert anchorer.anchor_now() == 0  # nothing moved: nothing signed again
    good = _cli(db_urls, tmp_path, "audit", "verify", "--company", str(tenant))
    assert good.returncode == 0, good.stderr
    assert ": OK, 5 rows" in good.stdout and "Signed anchors:" in good.stdout

    _rewrite_from(superuser_engine, tenant, 4)
    with superuser_engine.connect() as conn:
        assert verify_chain(conn, tenant).ok  # the chain alone is fooled
    bad = _cli(db_urls, tmp_path, "audit", "verify", "--company", str(tenant))
    assert bad.returncode == 1, bad.stdout
    # The anchor at seq 2 still matches; the one at seq 5 does not: the rewrite began after row 2.
    assert "chain broken at row seq 3" in bad.stderr and "recomputed" in bad.stderr
    assert "Traceback" not in bad.stderr

    # Kept on another machine: the export verifies the same way without the data directory's file.
    exported = tmp_path / "elsewhere" / "anchors.jsonl"
    exported.parent.mkdir()
    # (export refuses nothing here: the file itself was not touched)
    assert _cli(db_urls, tmp_path, "audit", "anchors", "export", "-o", str(exported)).returncode == 0
    (tmp_path / ANCHOR_FILE).unlink()
    again = _cli(db_urls, tmp_path, "audit", "verify", "--company", str(tenant), "--anchors", str(exported))
    assert again.returncode == 1 and "chain broken at row seq 3" in again.stderr


@pytest.mark.slow  # the CLI in 2 fresh processes, each importing every command
def test_an_altered_anchor_file_is_named(db_urls, app_engine, superuser_engine, tmp_path) -> None:
    tenant = new_company(superuser_engine, name=f"Forged {uuid.uuid4().hex[:6]}")
    write_events(app_engine, tenant, 3)
    Anchorer(superuser_engine, tmp_path).anchor_now()
    path = tmp_path / ANCHOR_FILE
    lines = path.read_text().splitlines()
    forged = [json.loads(line) for line in lines]
    for body in forged[1:]:
        if body["tenant_id"] == str(tenant):
            body["seq"] = 2  # an attacker moving the anchor back to fit a shortened chain
    path.write_text("".join(json.dumps(b) + "\n" for b in forged))
    bad = _cli(db_urls, tmp_path, "audit", "verify", "--company", str(tenant))
    assert bad.returncode == 1 and "does not carry a valid signature" in bad.stderr
    export = _cli(db_urls, tmp_path, "audit", "anchors", "export", "-o", str(tmp_path / "x.jsonl"))
    assert export.returncode == 1 and "altered" in export.stderr


def test_anchors_are_in_the_database_too_and_append_only(app_engine, superuser_engine, tmp_path) -> None:
    tenant = new_company(superuser_engine)
    write_events(app_engine, tenant, 2)
    Anchorer(superuser_engine, tmp_path).anchor_now()
    with superuser_engine.connect() as conn:
        row = conn.execute(text("select seq, row_hash, key_id from audit_anchors where tenant_id = :t"),
                           {"t": tenant}).one()
    public, anchors = AnchorLog(tmp_path / ANCHOR_FILE).read()
    mine = next(a for a in anchors if a.tenant_id == str(tenant))
    assert (row.seq, row.row_hash, row.key_id) == (2, mine.row_hash, mine.key_id) and mine.valid_under(public)
    with app_engine.connect() as conn:  # the app role reads (its own company's, under RLS) and writes nothing
        assert conn.execute(text("select has_table_privilege('audit_anchors', 'INSERT')")).scalar() is False
    with superuser_engine.connect() as conn:
        try:
            conn.execute(text("delete from audit_anchors where tenant_id = :t"), {"t": tenant})
        except Exception as exc:  # noqa: BLE001 - the trigger's refusal is what we want
            assert "append-only" in str(exc)
        else:
            raise AssertionError("an anchor row was deleted")


def test_a_restore_sets_the_earlier_anchors_aside(app_engine, superuser_engine, tmp_path) -> None:
    tenant = new_company(superuser_engine)
    write_events(app_engine, tenant, 1)
    anchorer = Anchorer(superuser_engine, tmp_path)
    anchorer.anchor_now()
    kept = set_aside_after_restore(tmp_path)
    assert kept is not None and kept.exists() and "before-restore" in kept.name
    assert not (tmp_path / ANCHOR_FILE).exists()
    anchorer.forget()
    assert anchorer.anchor_now() >= 1  # everything is signed afresh into a new file
    assert set_aside_after_restore(tmp_path / "nowhere") is None
