"""`POST /api/v1/backup/restore` + `GET …/restore/{id}`: a restore run by the server while it
serves. Success replaces the data and every audit chain still verifies (with the restore
recorded); a restore that fails verification leaves the live database as it was; one
backup or restore at a time; requests during the swap answer 503, never 500."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from uuid import UUID

import httpx
from sqlalchemy import create_engine, pool, text
from typer.testing import CliRunner

from cli.audit import app as audit_cli
from factoryos.backup.manifest import Backup, write_manifest
from factoryos.backup.restore_job import Requester, RestoreJob
from server.app import create_app
from server.auth import TokenAuthenticator
from server.restore_hooks import ServerRestoreHooks
from tests.accounts import FAST, join, new_company
from tests.backup.support import Island, app_of, installation_admin, island_settings, wait_for_restore
from tests.conftest import LiveServer, free_port
from tests.production import plant

runner = CliRunner()


def _backup(api: httpx.Client, headers: dict[str, str], label: str = "manual") -> dict:
    r = api.post("/api/v1/backup/create", json={"label": label}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _restore(api: httpx.Client, headers: dict[str, str], name: str) -> dict:
    r = api.post("/api/v1/backup/restore", json={"name": name, "confirm": name}, headers=headers)
    assert r.status_code == 202, r.text
    return r.json()


def _machine_ids(api: httpx.Client, headers: dict[str, str]) -> set[str]:
    return {m["id"] for m in api.get("/api/v1/machines", headers=headers).json()["items"]}


def _audit_rows(island: Island, tenant: str, action: str, name: str) -> list:
    engine = create_engine(island.source_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("select actor_id, after, request_id from audit_log where tenant_id = :t and action = :a "
                     "and entity_type = 'backup' and entity_id = :n"),
                {"t": tenant, "a": action, "n": name},
            ).all()  # fmt: skip
    finally:
        engine.dispose()


def test_restore_replaces_the_data_and_every_audit_chain_still_verifies(
    island: Island, island_server: LiveServer, api: httpx.Client, cli_env: Path
) -> None:
    owner = installation_admin(island_server, new_company(api))
    other = new_company(api)
    site = plant.site(api, owner)
    kept = plant.machine(api, owner, site["id"])
    made = _backup(api, owner.headers, "before-restore")
    late = plant.machine(api, owner, site["id"])

    job = _restore(api, owner.headers, made["name"])
    assert job["state"] == "running" and job["backup"] == made["name"] and job["error"] is None
    done = wait_for_restore(api, owner.headers, job["id"])
    assert done["state"] == "succeeded" and done["phase"] == "done", done
    assert done["error_code"] is None and done["warning"] is None and done["finished_at"] is not None

    ids = _machine_ids(api, owner.headers)  # the server reconnected to the restored database
    assert kept["id"] in ids and late["id"] not in ids
    assert api.get("/api/v1/system/health").json()["status"] == "ok"

    # Every company's chain records the restore; only the requester's row names them.
    [own] = _audit_rows(island, owner.tenant_id, "restore", made["name"])
    assert str(own.actor_id) == owner.user_id
    assert dt.datetime.fromisoformat(own.after["backup_created_at"]) == dt.datetime.fromisoformat(made["created_at"])
    [theirs] = _audit_rows(island, other.tenant_id, "restore", made["name"])
    assert theirs.actor_id is None and theirs.request_id is None and "requested_by" in theirs.after

    result = runner.invoke(audit_cli, ["verify"])
    assert result.exit_code == 0, result.output
    assert "broken" not in result.output and result.output.count(": OK,") >= 2


def test_a_restore_that_fails_verification_leaves_the_live_database_alone(
    island: Island, island_server: LiveServer, api: httpx.Client, island_data_dir: Path
) -> None:
    owner = installation_admin(island_server, new_company(api))
    site = plant.site(api, owner)
    made = _backup(api, owner.headers, "tampered")
    backup = Backup.load(island_data_dir / "backups" / f"{made['name']}.dump")
    counts = dict(backup.manifest.row_counts or {})
    counts["machines"] += 1  # the dump is intact, but the manifest promises one machine more
    write_manifest(backup.manifest.model_copy(update={"row_counts": counts}), backup.path)
    newer = plant.machine(api, owner, site["id"])
    try:
        done = wait_for_restore(api, owner.headers, _restore(api, owner.headers, made["name"])["id"])
    finally:
        backup.delete()
    assert done["state"] == "failed" and done["error_code"] == "restore_verify_failed", done
    assert "live database was not changed" in done["error"]
    assert "machines:" not in done["error"]  # installation-wide figures stay in the server log

    assert newer["id"] in _machine_ids(api, owner.headers)
    [row] = _audit_rows(island, owner.tenant_id, "restore_failed", made["name"])
    assert str(row.actor_id) == owner.user_id and row.after["error_code"] == "restore_verify_failed"
    admin = create_engine(island.pg.url("postgres", "postgres"), poolclass=pool.NullPool)
    with admin.connect() as conn:
        leftovers = conn.execute(text("select datname from pg_database where datname like 'factoryos_%'")).all()
    admin.dispose()
    assert leftovers == []


class HeldAtStart(ServerRestoreHooks):
    """A real restore that waits at its start until the test lets it go."""

    def __init__(self, state: object, release: threading.Event) -> None:
        super().__init__(state)
        self.release = release

    def started(self, job: RestoreJob) -> None:
        assert self.release.wait(120)
        super().started(job)


def test_one_backup_or_restore_at_a_time(api: httpx.Client, island_server: LiveServer) -> None:
    owner = installation_admin(island_server, new_company(api))
    made = _backup(api, owner.headers)
    state = app_of(island_server).state
    release = threading.Event()
    requester = Requester(UUID(owner.tenant_id), UUID(owner.user_id))
    job = state.backups.start_restore(made["name"], requester, HeldAtStart(state, release))
    try:
        again = api.post("/api/v1/backup/restore", json={"name": made["name"], "confirm": made["name"]},
                         headers=owner.headers)  # fmt: skip
        assert again.status_code == 409 and again.json()["code"] == "restore_in_progress", again.text
        backup = api.post("/api/v1/backup/create", json={}, headers=owner.headers)
        assert backup.status_code == 409 and backup.json()["code"] == "restore_in_progress", backup.text
        assert api.get("/api/v1/backup", headers=owner.headers).json()["running"] == "restore"
    finally:
        release.set()
    assert wait_for_restore(api, owner.headers, str(job.id))["state"] == "succeeded"
    assert api.get("/api/v1/backup", headers=owner.headers).json()["running"] is None
    _backup(api, owner.headers)  # free again


def test_restore_input_and_permissions(api: httpx.Client, island_server: LiveServer) -> None:
    owner = installation_admin(island_server, new_company(api))
    made = _backup(api, owner.headers)
    name = made["name"]
    r = api.post("/api/v1/backup/restore", json={"name": name, "confirm": name[:-1]}, headers=owner.headers)
    plant.problem(r, 422, "restore_not_confirmed", "confirm")
    r = api.post("/api/v1/backup/restore", json={"name": "../../etc/passwd", "confirm": "x"}, headers=owner.headers)
    plant.problem(r, 422, "validation_failed", "name")
    r = api.post("/api/v1/backup/restore", json={"name": "nope", "confirm": "nope"}, headers=owner.headers)
    plant.problem(r, 404, "backup_not_found", "name")
    r = api.get("/api/v1/backup/restore/00000000-0000-4000-8000-000000000000", headers=owner.headers)
    plant.problem(r, 404, "restore_not_found")

    operator = join(api, owner, "operator")
    r = api.post("/api/v1/backup/restore", json={"name": name, "confirm": name}, headers=operator.headers)
    plant.problem(r, 403, "permission_denied")
    # The owner of another company holds admin.system there, yet may not replace everyone's data.
    stranger = new_company(api)
    r = api.post("/api/v1/backup/restore", json={"name": name, "confirm": name}, headers=stranger.headers)
    assert plant.problem(r, 403, "permission_denied")["permission"] == "installation.admin"
    assert api.post("/api/v1/backup/restore", json={"name": name, "confirm": name}).status_code == 401


def test_another_company_cannot_see_a_restore(api: httpx.Client, island_server: LiveServer) -> None:
    # Both installation admins: what keeps the job from the other is the company it ran for.
    owner, other = (installation_admin(island_server, new_company(api)) for _ in range(2))
    made = _backup(api, owner.headers)
    job = _restore(api, owner.headers, made["name"])
    try:
        r = api.get(f"/api/v1/backup/restore/{job['id']}", headers=other.headers)
        plant.problem(r, 404, "restore_not_found")
    finally:
        assert wait_for_restore(api, owner.headers, job["id"])["state"] == "succeeded"


def test_requests_while_the_gate_is_closed_answer_503(api: httpx.Client, island_server: LiveServer) -> None:
    owner = new_company(api)
    gate = app_of(island_server).state.maintenance
    gate.close("the database is being replaced by a backup", drain_seconds=5)
    try:
        r = api.get("/api/v1/machines", headers=owner.headers)
        body = plant.problem(r, 503, "maintenance")
        assert r.headers["retry-after"] == "5" and "being replaced" in body["detail"]
        assert api.get("/api/v1/system/health").status_code == 200  # health does not queue behind the gate
    finally:
        gate.open()
    assert api.get("/api/v1/machines", headers=owner.headers).status_code == 200


def test_a_database_that_went_away_answers_503_not_500(island: Island, api: httpx.Client, tmp_path: Path) -> None:
    owner = new_company(api)  # the island server signs with the same key as the one below
    settings = island_settings(tmp_path)
    gone = island.pg.url("factoryos_app", "factoryos_gone")
    app = create_app(settings, gone, authenticator=TokenAuthenticator.from_settings(settings, FAST), check_role=False)
    server = LiveServer(app, free_port()).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            r = http.get("/api/v1/machines", headers=owner.headers)
    finally:
        server.stop()
    body = plant.problem(r, 503, "database_unavailable")
    assert r.headers["retry-after"] == "5" and "factoryos_gone" not in body["detail"]
