"""Warm standby on two real clusters of this host: clone with its own replication role, streaming
(rows written on the primary appear on the standby; lag measured), promotion to a new timeline, and
the old primary fenced: it refuses to serve once its standby was promoted, and keeps refusing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from cli.standby import app as standby_cli
from factoryos.backup.standby import (
    FENCE_FILE,
    REPLICATION_ROLE,
    StandbyError,
    check_not_superseded,
    clone,
    create_replication_role,
    promote,
    replica_state,
)  # fmt: skip
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.errors import Conflict
from tests.backup.support import primary_and_standby, sql
from tests.cli_support import Outcome, one_red_line
from tests.conftest import pg_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _cli(*args: str) -> Outcome:
    done = CliRunner().invoke(standby_cli, list(args), env={"COLUMNS": "300"})
    return Outcome(done.exit_code, done.stdout, done.stderr)



def _serve(data_dir, own_url: str, peer_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORYOS_DATA_DIR": str(data_dir), "FACTORYOS_DATABASE_URL": own_url,
           "FACTORYOS_ADMIN_DATABASE_URL": own_url, "FACTORYOS_STANDBY_PEER_URL": peer_url, "NO_COLOR": "1",
           "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "serve", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_stream_promote_and_fence_the_old_primary() -> None:
    with pg_data_dir() as root:
        primary = EmbeddedPostgres(root / "a").start()
        standby: EmbeddedPostgres | None = None
        try:
            p_url = primary.url()
            sql(p_url, "create table standby_probe (n int primary key)")
            sql(p_url, "insert into standby_probe select generate_series(1, 3)")
            create_replication_role(p_url, "not-the-superusers")
            as_role = make_url(p_url).set(username=REPLICATION_ROLE).render_as_string(hide_password=False)
            clone(as_role, root / "b" / "pg")
            with pytest.raises(StandbyError) as refused:
                clone(as_role, root / "b" / "pg")
            assert refused.value.code == "standby_target_not_empty"
            standby = EmbeddedPostgres(root / "b").start()
            s_url = standby.url()

            written = time.monotonic()
            sql(p_url, "insert into standby_probe values (4)")
            while sql(s_url, "select count(*) from standby_probe") != 4:
                assert time.monotonic() - written < 30, "the row never reached the standby"
                time.sleep(0.05)
            print(f"[standby] a committed row visible on the standby after {time.monotonic() - written:.2f} s")
            state = replica_state(s_url)
            assert state.in_recovery and state.streaming and state.timeline == 1 and state.lag_seconds == 0.0
            assert sql(p_url, "select usename from pg_stat_replication") == REPLICATION_ROLE
            check_not_superseded(p_url, s_url, root / "a")  # its standby still follows: serve
            on_primary = _cli("status", "--url", p_url)
            assert on_primary.returncode == 0 and "primary (timeline 1)" in on_primary.stdout, on_primary
            assert "standby factoryos_standby: streaming, replay lag " in on_primary.stdout, on_primary

            shown = _cli("status", "--url", s_url)
            assert shown.returncode == 0 and "standby, streaming from" in shown.stdout, shown

            promoted = _cli("promote", "--url", s_url, "--yes")
            assert promoted.returncode == 0 and "promoted: primary (timeline 2)" in promoted.stdout, promoted
            assert not replica_state(s_url).in_recovery
            sql(s_url, "insert into standby_probe values (5)")  # writable now
            one_red_line(_cli("promote", "--url", s_url, "--yes"), "already a primary")
            with pytest.raises(Conflict) as again:
                promote(s_url)
            assert again.value.code == "standby_not_replica"

            with pytest.raises(Conflict) as fenced:
                check_not_superseded(p_url, s_url, root / "a")
            assert fenced.value.code == "standby_superseded" and "timeline 2" in str(fenced.value)
            # The peer away (or forgotten): the marker still refuses.
            with pytest.raises(Conflict):
                check_not_superseded(p_url, None, root / "a")
            assert (root / "a" / FENCE_FILE).is_file()
            # `factoryos serve` on the old primary refuses with one red line, before serving anything.
            served = _serve(root / "a", p_url, s_url)
            assert served.returncode == 1 and "superseded by its promoted standby" in served.stderr, served
            assert len([line for line in served.stderr.splitlines() if line.strip()]) == 1, served.stderr
        finally:
            if standby is not None:
                standby.stop()
            primary.stop()


def _cli_env(*args: str, env: dict[str, str]) -> Outcome:
    done = CliRunner().invoke(standby_cli, list(args), env={"COLUMNS": "300", **env})
    return Outcome(done.exit_code, done.stdout, done.stderr)


def test_a_standby_is_cloned_only_from_its_own_installations_primary() -> None:
    """`standby identity` on the primary, `standby clone --identity` on the standby's host: another
    installation's database (another cluster, same role and password) is refused before anything is copied."""
    with pg_data_dir() as root:
        ours, other = EmbeddedPostgres(root / "ours").start(), EmbeddedPostgres(root / "other").start()
        standby: EmbeddedPostgres | None = None
        try:
            shown = _cli("identity", "--url", ours.url())
            assert shown.returncode == 0, shown
            identity = shown.stdout.strip()
            assert identity.isdigit() and identity != _cli("identity", "--url", other.url()).stdout.strip()
            sql(ours.url(), "create table standby_probe (n int primary key)")
            sql(ours.url(), "insert into standby_probe values (1)")
            made = _cli("create-role", "--url", ours.url())
            assert made.returncode == 0 and f"replication role {REPLICATION_ROLE} ready" in made.stdout, made
            password = made.stdout.strip().splitlines()[-1]
            assert len(password) >= 32
            create_replication_role(other.url(), password)  # the same login on another installation
            urls = {name: make_url(cluster.url()).set(username=REPLICATION_ROLE, password=password)
                    .render_as_string(hide_password=False) for name, cluster in (("ours", ours), ("other", other))}
            env = {"FACTORYOS_DATA_DIR": str(root / "standby")}

            refused = _cli_env("clone", "--from", urls["other"], "--identity", identity, env=env)
            one_red_line(refused, "that primary belongs to another installation")
            assert not (root / "standby" / "pg").exists()  # nothing copied

            cloned = _cli_env("clone", "--from", urls["ours"], "--identity", identity, env=env)
            assert cloned.returncode == 0 and "cloned the primary into" in cloned.stdout, cloned
            standby = EmbeddedPostgres(root / "standby").start()
            assert sql(standby.url(), "select count(*) from standby_probe") == 1
            assert replica_state(standby.url()).in_recovery
        finally:
            if standby is not None:
                standby.stop()
            ours.stop()
            other.stop()


def test_a_promotion_with_cleanup_left_to_replay_is_not_cancelled_by_a_recovery_conflict() -> None:
    """Seen in CI: the primary had pruned rows the standby had not replayed yet when the promotion was
    asked, and replaying that cleanup cancelled the session waiting in pg_promote (a recovery conflict
    with its snapshot). Reproduced here with replay paused behind a vacuum and a 1 s conflict delay."""
    with pg_data_dir() as root, primary_and_standby(
            root, "not-the-superusers",
            "create table standby_probe (n int primary key, v int) with (autovacuum_enabled = off)",
            "insert into standby_probe select n, 0 from generate_series(1, 2000) n") as (primary, standby):
        p_url, s_url = primary.url(), standby.url()
        sql(s_url, "alter system set max_standby_streaming_delay = '1s'")
        sql(s_url, "select pg_reload_conf()")
        sql(s_url, "select pg_wal_replay_pause()")
        sql(p_url, "update standby_probe set v = 1")
        sql(p_url, "vacuum standby_probe")  # removes the old versions: a conflict for older snapshots
        target = sql(p_url, "select pg_current_wal_lsn()::text")
        received = time.monotonic()
        while not sql(s_url, f"select pg_last_wal_receive_lsn() >= '{target}'::pg_lsn"):
            assert time.monotonic() - received < 30, "the cleanup never reached the standby"
            time.sleep(0.05)

        state = promote(s_url)

        assert not state.in_recovery and state.timeline == 2
        assert sql(s_url, "select count(*) from standby_probe where v = 1") == 2000
