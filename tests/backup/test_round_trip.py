"""create → change or wipe → restore, through the CLI, with the server running: the restored
database holds exactly the manifest's rows and every company's audit chain verifies."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, pool, text
from typer.testing import CliRunner

from cli.backup import app
from factoryos.audit.verify import verify_chain
from factoryos.backup.catalog import list_backups
from factoryos.backup.facts import read_facts
from factoryos.backup.manifest import write_manifest
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls
from factoryos.db.roles import init_database
from factoryos.db import migrate
from tests.accounts import join, new_company
from tests.backup.support import DATABASE, Island
from tests.production import plant

runner = CliRunner()


def _facts(island: Island):
    engine = create_engine(island.source_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            facts = read_facts(conn)
            tenants = [r.tenant_id for r in conn.execute(text("select tenant_id from companies"))]
            chains = {str(t): verify_chain(conn, t) for t in tenants}
        return facts, chains
    finally:
        engine.dispose()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_create_change_wipe_restore_round_trip(island: Island, api: httpx.Client, cli_env: Path) -> None:
    owner = new_company(api)
    join(api, owner, "supervisor")
    site = plant.site(api, owner)
    kept = plant.machine(api, owner, site["id"])
    before, _ = _facts(island)

    out = _cli("create", "--label", "before-change")
    [backup] = list_backups(cli_env)
    assert backup.name in out and backup.manifest.label == "before-change"
    assert backup.manifest.row_counts == before.row_counts
    assert backup.manifest.audit_heads == before.audit_heads and owner.tenant_id in backup.manifest.audit_heads
    assert backup.manifest.schema_revision == migrate.head_revision()
    assert backup.path.stat().st_mode & 0o777 == 0o600

    # A change after the backup, then a restore while the server keeps running.
    late = plant.machine(api, owner, site["id"])
    out = _cli("restore", backup.name, "--yes")
    assert "rows match the manifest" in out and "audit chain of" in out
    after, chains = _facts(island)
    assert after.row_counts == backup.manifest.row_counts
    assert chains and all(report.ok for report in chains.values())
    ids = {m["id"] for m in api.get("/api/v1/machines", headers=owner.headers).json()["items"]}
    assert kept["id"] in ids and late["id"] not in ids  # the server reconnected to the restored database

    # Wiped entirely: restore brings it back from nothing.
    admin = create_engine(island.pg.url("postgres", "postgres"), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {DATABASE} WITH (FORCE)")
    admin.dispose()
    _cli("restore", str(backup.path), "--yes")
    again, chains = _facts(island)
    assert again.row_counts == backup.manifest.row_counts and all(r.ok for r in chains.values())
    assert api.get(f"/api/v1/machines/{kept['id']}", headers=owner.headers).status_code == 200


def test_restore_that_does_not_match_its_manifest_leaves_the_database_alone(
    island: Island, api: httpx.Client, cli_env: Path
) -> None:
    owner = new_company(api)
    site = plant.site(api, owner)
    _cli("create")
    [backup] = list_backups(cli_env)
    # The dump is intact (checksum fine) but the manifest promises one machine more.
    counts = dict(backup.manifest.row_counts or {})
    counts["machines"] += 1
    write_manifest(backup.manifest.model_copy(update={"row_counts": counts}), backup.path)
    newer = plant.machine(api, owner, site["id"])

    result = runner.invoke(app, ["restore", backup.name, "--yes"])
    assert result.exit_code == 1
    assert "restored rows differ from the manifest (machines:" in result.output
    assert api.get(f"/api/v1/machines/{newer['id']}", headers=owner.headers).status_code == 200
    admin = create_engine(island.pg.url("postgres", "postgres"), poolclass=pool.NullPool)
    with admin.connect() as conn:
        leftovers = conn.execute(text("select datname from pg_database where datname like 'factoryos_%'")).all()
    admin.dispose()
    assert leftovers == []


def test_backups_carry_their_chain_heads_signed_and_an_altered_one_is_refused(
    island: Island, api: httpx.Client, cli_env: Path
) -> None:
    from factoryos.audit.anchors import ANCHOR_FILE, Anchor, AnchorLog, public_key_from_text

    owner = new_company(api)
    site = plant.site(api, owner)
    _cli("create")
    [backup] = list_backups(cli_env)
    m = backup.manifest
    public = public_key_from_text(m.audit_public_key or "")
    signed = {a["tenant_id"]: Anchor(**a) for a in m.audit_anchors or []}
    head = m.audit_heads[owner.tenant_id]
    assert signed[owner.tenant_id].valid_under(public)
    assert (signed[owner.tenant_id].seq, signed[owner.tenant_id].row_hash) == (head.seq, head.row_hash)
    # The same anchors are in the installation's anchor file.
    logged = AnchorLog(cli_env.parent / "data" / ANCHOR_FILE).read()[1]
    assert any(a.signature == signed[owner.tenant_id].signature for a in logged)

    # Someone re-hashed a chain in the dump and wrote the matching head and signature-less anchor.
    forged = [dict(a, row_hash="f" * 64) if a["tenant_id"] == owner.tenant_id else a for a in m.audit_anchors or []]
    write_manifest(m.model_copy(update={"audit_anchors": forged}), backup.path)
    newer = plant.machine(api, owner, site["id"])
    result = runner.invoke(app, ["restore", backup.name, "--yes"])
    assert result.exit_code == 1 and "not the one signed when it was taken" in result.output, result.output
    assert api.get(f"/api/v1/machines/{newer['id']}", headers=owner.headers).status_code == 200


def test_restore_asks_first(cli_env: Path, island: Island, api: httpx.Client) -> None:
    new_company(api)
    _cli("create")
    [backup] = list_backups(cli_env)
    result = runner.invoke(app, ["restore", backup.name], input="n\n")
    assert result.exit_code == 1 and "restore cancelled: nothing was changed" in result.output


@pytest.mark.slow  # its own embedded PostgreSQL, started three times
def test_embedded_mode_create_list_restore(pg_tmp: Path, monkeypatch) -> None:
    """No database URL: the commands start the embedded PostgreSQL of the data dir themselves."""
    pg = EmbeddedPostgres(pg_tmp).start()
    try:
        urls = embedded_urls(pg, DATABASE)
        init_database(urls.admin, DATABASE)
        migrate.upgrade(urls.owner)
    finally:
        pg.stop()
    for name in ("FACTORYOS_DATABASE_URL", "FACTORYOS_ADMIN_DATABASE_URL", "FACTORYOS_BACKUP_DIR", "FACTORYOS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FACTORYOS_DATA_DIR", str(pg_tmp))
    monkeypatch.setenv("FACTORYOS_DATABASE_NAME", DATABASE)

    _cli("create")
    [backup] = list_backups(pg_tmp / "backups")
    listed = _cli("list")
    assert backup.name in listed and "1 backups in" in listed
    out = _cli("restore", backup.name, "--yes")
    assert f"restored {backup.name} into {DATABASE}" in out
