"""A recovery that cannot finish fails within minutes with the reason, not after an hour: a real
cluster started as a standby whose restore_command finds nothing replays nothing more, and the
watch gives up after its stall time with the server's last log lines and the position it reached."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from factoryos.backup.errors import RestoreFailed
from factoryos.backup.pgtools import find_tool
from factoryos.backup.pitr import _own, _system_user, wait_promoted
from factoryos.db.embedded import EmbeddedPostgres
from tests.conftest import pg_data_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_a_recovery_that_replays_nothing_more_fails_with_the_reason() -> None:
    with pg_data_dir() as root:
        EmbeddedPostgres(root / "src").start().stop()
        scratch, empty = root / "scratch", root / "empty-archive"
        shutil.copytree(root / "src" / "pg", scratch)
        for name in (".handle_pids.json", "postmaster.opts", "log", "postmaster.pid"):
            (scratch / name).unlink(missing_ok=True)
        (scratch / "standby.signal").touch()  # waits for WAL that never comes
        empty.mkdir()
        user = _system_user(root / "src" / "pg")
        for path in (scratch, empty):
            _own(path, user)
        sockets = Path(tempfile.mkdtemp(prefix="fo-watch-"))
        _own(sockets, user)
        log_path = root / "recovery.log"
        command = [str(find_tool("postgres")), "-D", str(scratch), "-c", "listen_addresses=",
                   "-c", f"unix_socket_directories={sockets}", "-c", f"restore_command=cp {empty}/%f %p",
                   "-c", "logging_collector=off"]  # fmt: skip
        with log_path.open("wb") as server_log:
            process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT,
                                       user=user.pw_uid if user else None, group=user.pw_gid if user else None)  # fmt: skip
        try:
            started = time.monotonic()
            with pytest.raises(RestoreFailed) as stuck:
                wait_promoted(lambda: process.poll() is None, str(sockets),
                              lambda: log_path.read_text(errors="replace").splitlines(), stall_seconds=4)  # fmt: skip
            waited = time.monotonic() - started
            message = str(stuck.value)
            assert stuck.value.code == "restore_failed" and 4 <= waited < 20, (waited, message)
            assert message.startswith("recovery made no progress for 4 s (last at 0/")
            assert "the live database was not touched" in message
            assert process.poll() is None  # the caller stops it (its context manager does)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            shutil.rmtree(sockets, ignore_errors=True)


def test_a_recovery_that_exits_names_its_fatal_line() -> None:
    with pg_data_dir() as root:
        log_path = root / "recovery.log"
        log_path.write_text("LOG:  starting\nFATAL:  recovery ended before configured recovery target was reached\n")
        with pytest.raises(RestoreFailed) as ended:
            wait_promoted(lambda: False, str(root), lambda: log_path.read_text().splitlines())
        assert str(ended.value) == ("recovery stopped: recovery ended before configured recovery target was "
                                    "reached; the live database was not touched")  # fmt: skip
