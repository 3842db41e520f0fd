"""The ages /metrics reports for backups and audit anchors, from a real backup and real anchors."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from factoryos.audit.anchoring import Anchorer
from factoryos.backup.service import BackupService
from factoryos.config import Settings
from server.api import NoAuthenticator
from server.metrics import Sampler, render
from server.state import ServerState
from tests.accounts import new_company

pytestmark = pytest.mark.slow  # takes a real backup (pg_dump) of the test database


def _gauges(body: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples if not s.labels}


def test_backup_and_anchor_ages_come_from_the_newest_backup_and_anchor(http: httpx.Client, settings: Settings,
                                                                      superuser_engine: Engine) -> None:
    new_company(http)  # audit rows, whose chain head is signed below
    with tempfile.TemporaryDirectory(prefix="factoryos-metrics-") as folder:
        data = Path(folder)
        state = ServerState.of(settings.model_copy(update={"data_dir": data}), NoAuthenticator())
        state.anchorer = Anchorer(superuser_engine, data)
        state.backups = BackupService(data / "backups", superuser_engine.url.render_as_string(hide_password=False),
                                      interval_hours=0)
        before = time.time()
        assert state.anchorer.anchor_now() > 0
        backup = state.backups.create("metrics", wait=True)
        Sampler(state).sample()
        figures = _gauges(render().decode())
    assert figures["factoryos_backup_last_success_timestamp_seconds"] == pytest.approx(backup.created_at.timestamp())
    assert 0 <= figures["factoryos_backup_last_success_age_seconds"] <= time.time() - before + 1
    assert figures["factoryos_audit_anchor_last_timestamp_seconds"] >= int(before) - 1
    assert 0 <= figures["factoryos_audit_anchor_last_age_seconds"] <= time.time() - before + 1


def test_license_days_left_follow_the_license_in_force(settings: Settings, tmp_path: Path) -> None:
    import datetime as dt

    from factoryos.licensing import Edition, License, Limits
    from factoryos.licensing.active import LicenseState

    now = dt.datetime.now(dt.UTC)
    document = License(license_id="L-metrics", customer="Acme", edition=Edition.ADVANCED,
                       limits=Limits(machines=10, users=10, sites=1), issued_at=now - dt.timedelta(days=1),
                       expires_at=now + dt.timedelta(days=42, hours=1))
    state = ServerState.of(settings.model_copy(update={"data_dir": tmp_path}), NoAuthenticator())
    state.license = LicenseState(tmp_path / "license.lic", document=document)
    Sampler(state).sample()
    assert _gauges(render().decode())["factoryos_license_days_left"] == 42
