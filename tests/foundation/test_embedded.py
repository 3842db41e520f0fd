"""The embedded PostgreSQL: real process, data survives a restart, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import psycopg
import pytest

from factoryos.db.embedded import EmbeddedError, EmbeddedLocked, EmbeddedPostgres

CHILD = textwrap.dedent(
    """
    import sys, psycopg
    from factoryos.db.embedded import EmbeddedPostgres, EmbeddedError
    try:
        pg = EmbeddedPostgres(sys.argv[1]).start()
    except EmbeddedError as exc:
        print("ERROR:", exc); sys.exit(3)
    with psycopg.connect(pg.url().replace("+psycopg", ""), autocommit=True) as conn:
        if sys.argv[2] == "write":
            conn.execute("create table kept (v text)")
            conn.execute("insert into kept values ('survives restart')")
        else:
            print(conn.execute("select v from kept").fetchone()[0])
    pg.stop()
    """
)


def _child(data_dir, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(data_dir), mode], capture_output=True, text=True, timeout=120)


# Two or three clusters started in other processes each: slow. The session's own cluster, the
# same-process lock test and the error tests below keep the fast suite's check of this module.
@pytest.mark.slow
def test_data_survives_a_process_restart(pg_tmp) -> None:
    first = _child(pg_tmp, "write")
    assert first.returncode == 0, first.stderr
    assert not (pg_tmp / "pg" / "postmaster.pid").exists(), "the server was not stopped"
    second = _child(pg_tmp, "read")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "survives restart"


@pytest.mark.slow
def test_second_process_on_a_locked_data_dir_gets_a_clear_error(pg_tmp) -> None:
    with EmbeddedPostgres(pg_tmp):
        other = _child(pg_tmp, "read")
    assert other.returncode == 3
    assert "is in use by FactoryOS process" in other.stdout
    assert "Traceback" not in other.stderr


def test_lock_in_the_same_process_is_exclusive_too(pg_tmp) -> None:
    with EmbeddedPostgres(pg_tmp):
        with pytest.raises(EmbeddedLocked):
            EmbeddedPostgres(pg_tmp).start()


def test_unusable_data_dir_gets_a_clear_error(pg_tmp) -> None:
    blocker = pg_tmp / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(EmbeddedError, match="cannot be created"):
        EmbeddedPostgres(blocker / "data").start()


@pytest.mark.slow
def test_stop_falls_back_to_signalling_the_postmaster(pg_tmp) -> None:
    """When pg_ctl cannot run, stop() still shuts the server down (fast) and a restart works."""
    pg = EmbeddedPostgres(pg_tmp).start()
    pid = int((pg_tmp / "pg" / "postmaster.pid").read_text().split()[0])
    pg._signal_postmaster()
    assert not (pg_tmp / "pg" / "postmaster.pid").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    pg.stop()  # pg_ctl finds nothing to stop; the handle and the lock are released
    with EmbeddedPostgres(pg_tmp) as again, psycopg.connect(again.url().replace("+psycopg", ""), autocommit=True) as c:
        assert c.execute("select 1").fetchone() == (1,)
