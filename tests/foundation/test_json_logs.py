"""`FACTORYOS_LOG_FORMAT=json` (issue 20): `factoryos serve` writes one JSON object per line on
stderr — its own lines and uvicorn's access lines alike — each with the request id and the
company the request acted for. The real server process, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.accounts import new_company
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_json_log_lines_carry_the_request_id_and_the_company(db_urls, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "stderr.log"
    env = {**os.environ, "FACTORYOS_DATABASE_URL": db_urls.app, "FACTORYOS_DATA_DIR": str(tmp_path / "data"),
           "FACTORYOS_LOG_FORMAT": "json", "FACTORYOS_POLLER": "false", "FACTORYOS_BACKUP_INTERVAL_HOURS": "0",
           "FACTORYOS_WAL_ARCHIVE": "false", "NO_COLOR": "1"}
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve", "--port",
                                 str(port)], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/api/v1/system/health").status_code in (200, 503):
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
            owner = new_company(http)
            r = http.get("/api/v1/sites", headers={**owner.headers, "X-Request-ID": "json-log-check-0001"})
            assert r.status_code == 200, r.text
            anonymous = http.get("/api/v1/sites", headers={"X-Request-ID": "json-log-check-0002"})
            assert anonymous.status_code == 401
        time.sleep(0.5)  # the access line is written as the response goes out
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = _lines(log)  # every line parses: nothing in text slipped through
    assert lines and all({"ts", "level", "logger", "msg", "request_id", "company_id"} <= set(line) for line in lines)
    mine = [line for line in lines if line["request_id"] == "json-log-check-0001"]
    assert any(line["logger"] == "uvicorn.access" and "/api/v1/sites" in line["msg"] for line in mine), lines[-5:]
    assert {line["company_id"] for line in mine} == {owner.tenant_id}
    theirs = [line for line in lines if line["request_id"] == "json-log-check-0002"]
    assert theirs and all(line["company_id"] is None for line in theirs)
    # Lines outside a request (startup) carry no request fields rather than a stale one.
    assert any(line["request_id"] is None for line in lines)
