"""`factoryos login --sso` end to end: the command shows the code, the page and a QR code, the
person signs in at the real provider on their phone, and the command is signed in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.sso.oidc_support import USERS, Person

pytestmark = pytest.mark.slow


def run_login(live_server, tmp_path, email: str) -> tuple[subprocess.Popen[str], list[str], threading.Event]:
    env = {**os.environ, "FACTORYOS_CLIENT_CONFIG": str(tmp_path / "client.json"), "COLUMNS": "200",
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "factoryos"), "login", "--sso", "--server", live_server.url,
                                "--email", email], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    lines: list[str] = []
    shown = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Waiting for you"):
                shown.set()

    threading.Thread(target=read, daemon=True).start()
    return process, lines, shown


def test_login_sso_shows_code_and_qr_then_signs_in(live_server, plant, tmp_path):
    process, lines, shown = run_login(live_server, tmp_path, USERS["sam"]["email"])
    try:
        assert shown.wait(60), "\n".join(lines)
        text = "\n".join(lines)
        code = re.search(r"enter the code\s+([B-Z]{4}-[B-Z]{4})", text)
        page = re.search(r"^\s+(http://127\.0\.0\.1:\d+/device)\s*$", text, re.M)
        assert code and page, text
        assert sum("█" in line or "▀" in line or "▄" in line for line in lines) >= 10  # the QR code
        person = Person("sam")
        try:
            assert "Sign-in Success" in person.visit(f"{page.group(1)}?user_code={code.group(1)}")
        finally:
            person.close()
        assert process.wait(60) == 0, "\n".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Signed in to" in "\n".join(lines)


def test_login_sso_without_a_provider_is_one_red_line(live_server, tmp_path):
    process, lines, _ = run_login(live_server, tmp_path, "nobody@no-sso.example.com")
    assert process.wait(60) == 1
    out = [line for line in lines if line.strip()]
    assert len(out) == 1 and out[0].startswith("✗") and "no OpenID Connect sign-in" in out[0], lines
