"""A real Mosquitto for the edge tests: one TLS listener (MQTT 5, username/password), the password
and ACL files written from the edge registry, persistence on, stoppable and restartable on the
same port, and reloadable (SIGHUP) after the files change."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.connectivity.mqtt_broker import _wait_listening, make_ca_and_server
from tests.connectivity.support import free_port

INGEST_USER, INGEST_PASSWORD = "factoryos-ingest", "ingest-broker-pass-for-tests"


class EdgeBroker:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if binary is None:
            pytest.skip("Mosquitto is not installed (Debian package `mosquitto`; .ci/run installs it)")
        self.binary = binary
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.ca, cert, key = make_ca_and_server(directory)
        self.passwords, self.acl = directory / "passwords", directory / "acl"
        (directory / "persist").mkdir(exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            "user root\nper_listener_settings false\nallow_anonymous false\n"
            f"password_file {self.passwords}\nacl_file {self.acl}\n"
            # Messages for an ingest process that is down wait in its session, however many.
            "max_queued_messages 0\nmax_inflight_messages 1000\n"
            f"persistence true\npersistence_location {directory / 'persist'}/\nautosave_interval 1\n"
            "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
            f"listener {self.port} 127.0.0.1\ncafile {self.ca}\ncertfile {cert}\nkeyfile {key}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def write_files(self, passwords: str, acl: str) -> None:
        self.passwords.write_text(passwords)
        self.acl.write_text(acl)
        self.passwords.chmod(0o600)
        self.acl.chmod(0o600)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=out,
                                            stderr=subprocess.STDOUT)
        _wait_listening(self.process, self.port, self.log)

    def reload(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """A clean stop: the broker saves its sessions and queued messages (persistence)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
