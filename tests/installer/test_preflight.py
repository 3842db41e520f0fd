"""`factoryos install --check` and the refusals an admin meets first: a read-only folder, a
non-root user. Real conditions (a read-only bind mount, a process running as nobody), the
real CLI in a subprocess; every outcome is one line per problem and never a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from installer.undo import UndoStack
from tests.installer.conftest import REPO_ROOT

NOBODY = 65534


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _factoryos(args: list[str], docker_api, prefix: list[str] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": docker_api.url, "COLUMNS": "200", "HOME": "/tmp"}
    command = [*prefix, sys.executable, "-c", "from cli.main import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120, check=False)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder other users can reach (pytest's own is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="factoryos-preflight-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _lines(run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    text = run.stdout + run.stderr
    assert "Traceback" not in text, text
    return {line.split(":")[0].strip("✓✗! "): line for line in text.splitlines() if ":" in line}


def test_check_changes_nothing_and_lists_the_new_checks(shared_tmp: Path, docker_api) -> None:
    target = shared_tmp / "opt" / "factoryos"
    run = _factoryos(["install", "--check", "--dir", str(target), "--bind", "127.0.0.1",
                      "--https-port", str(_port())], docker_api)  # fmt: skip
    lines = _lines(run)
    assert f"can be created in {shared_tmp}" in lines["Install folder"]
    assert "running as root" in lines["Privileges"] or "with access to" in lines["Privileges"]
    assert "(images, database)" in lines["Disk (Docker)"] and "Docker 27.3.1" in lines["Docker engine"]
    failed = [name for name, line in lines.items() if line.lstrip().startswith("✗") and name != "System check"]
    assert run.returncode == (1 if failed else 0), run.stdout
    assert list(shared_tmp.iterdir()) == []  # nothing was created


def _read_only(path: Path) -> list[str]:
    """Run the command in a mount namespace where `path` is a read-only bind mount."""
    return ["unshare", "--mount", "sh", "-c",
            f'mount --bind "{path}" "{path}" && mount -o remount,bind,ro "{path}" && exec "$@"', "sh"]  # fmt: skip


def _can_mount(path: Path) -> bool:
    probe = subprocess.run([*_read_only(path), "true"], capture_output=True, check=False)
    return probe.returncode == 0


def test_a_read_only_folder_is_named_and_nothing_claims_a_rollback(shared_tmp: Path, docker_api) -> None:
    if shutil.which("unshare") is None or not _can_mount(shared_tmp):
        pytest.skip("cannot make a read-only bind mount here (needs root and a mount namespace)")
    target = shared_tmp / "factoryos"
    check = _factoryos(["install", "--check", "--dir", str(target), "--bind", "127.0.0.1"], docker_api,
                       _read_only(shared_tmp))  # fmt: skip
    assert check.returncode == 1
    assert f"{shared_tmp} is on a read-only file system" in _lines(check)["Install folder"]
    install = _factoryos(["install", "--yes", "--dir", str(target), "--bind", "127.0.0.1", "--https-port",
                          str(_port()), "--admin-email", "o@acme.example", "--company", "Acme", "--city", "Porto"],
                         docker_api, _read_only(shared_tmp))  # fmt: skip
    text = install.stdout + install.stderr
    assert install.returncode == 1 and "Traceback" not in text
    assert "stopped at step “System check”: nothing was changed" in text
    assert "rollback was incomplete" not in text and "restored" not in text
    assert not target.exists()


def _as_nobody() -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to become nobody")
def test_a_user_without_rights_gets_one_line_not_a_traceback(shared_tmp: Path, docker_api) -> None:
    check = _factoryos(["install", "--check", "--dir", str(shared_tmp / "factoryos"), "--bind", "127.0.0.1"],
                       docker_api, _as_nobody())  # fmt: skip
    lines = _lines(check)
    assert check.returncode == 1
    assert f"{shared_tmp} is not writable by nobody" in lines["Install folder"]
    assert "without access to the install folder" in lines["Privileges"] and "sudo" in lines["Privileges"]

    # A folder this user owns, but whose 0600 .env an earlier install (as root) wrote.
    installed = shared_tmp / "installed"
    installed.mkdir(mode=0o755)
    os.chown(installed, NOBODY, NOBODY)
    (installed / ".env").write_text("FACTORYOS_SECRET_KEY='x'\n")
    (installed / ".env").chmod(0o600)
    (installed / "install.json").write_text('{"version": "0.1.0", "bind_ip": "127.0.0.1", "https_port": 443}')
    rerun = _factoryos(["install", "--yes", "--dir", str(installed)], docker_api, _as_nobody())
    text = rerun.stdout + rerun.stderr
    assert rerun.returncode == 1 and "Traceback" not in text, text
    assert f"{installed}/.env is not readable by this user: run as root" in text
    check = _factoryos(["install", "--check", "--dir", str(installed)], docker_api, _as_nobody())
    assert f"{installed}/.env is not readable and writable by nobody" in _lines(check)["Install folder"]


def test_undoing_a_folder_that_was_never_created_is_no_problem(tmp_path: Path) -> None:
    undo = UndoStack()
    undo.remove_if_new(tmp_path / "never")
    assert undo.descriptions() == [f"remove {tmp_path / 'never'}"]
    assert undo.run() == [] and undo.descriptions() == []
