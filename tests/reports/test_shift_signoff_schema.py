"""0013's tables as the app role sees them: signatures and notes are append-only, the paper size
is A4 or Letter, and the query layer's paper default follows the time zone."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from factoryos.db.tenant import tenant_transaction
from factoryos.reports.paper import default_paper, site_paper
from tests.tenancy_seed import SEEDERS


def _seeded(superuser_engine: Engine) -> uuid.UUID:
    tenant = uuid.uuid4()
    with superuser_engine.begin() as conn:
        for name, seeder in SEEDERS.items():
            seeder(conn, tenant, tenant.hex[:6])
            if name == "shift_signoffs":
                break
    return tenant


@pytest.mark.parametrize("statement", [
    "update shift_signoffs set content_hash = repeat('b', 64)",
    "delete from shift_signoffs",
    "update shift_handover_notes set body = 'rewritten'",
    "delete from shift_handover_notes",
])
def test_signatures_and_notes_cannot_be_changed_by_the_app(superuser_engine: Engine, app_engine: Engine,
                                                           statement: str) -> None:
    tenant = _seeded(superuser_engine)
    with pytest.raises(DBAPIError, match="permission denied"):
        with tenant_transaction(app_engine, tenant) as conn:
            conn.execute(text(statement))
    with tenant_transaction(app_engine, tenant) as conn:
        assert conn.execute(text("select count(*) from shift_signoffs")).scalar_one() == 1


def test_a_signature_keeps_a_sha256_and_a_known_meaning(superuser_engine: Engine, app_engine: Engine) -> None:
    tenant = _seeded(superuser_engine)
    insert = ("insert into shift_signoffs (tenant_id, shift_instance_id, signer_id, signer_name, meaning, content_hash) "
              "select tenant_id, shift_instance_id, signer_id, signer_name, :m, :h from shift_signoffs")
    for meaning, digest in (("liked", "a" * 64), ("reviewed", "not a hash")):
        with pytest.raises(DBAPIError, match="ck_shift_signoffs"):
            with tenant_transaction(app_engine, tenant) as conn:
                conn.execute(text(insert), {"m": meaning, "h": digest})


def test_paper_size_is_a4_or_letter(superuser_engine: Engine, app_engine: Engine) -> None:
    tenant = _seeded(superuser_engine)
    with pytest.raises(DBAPIError, match="ck_sites_paper_size"):
        with tenant_transaction(app_engine, tenant) as conn:
            conn.execute(text("update sites set paper_size = 'A3'"))
    with tenant_transaction(app_engine, tenant) as conn:
        conn.execute(text("update sites set paper_size = 'Letter'"))
        site = conn.execute(text("select paper_size, timezone from sites")).mappings().one()
    assert site_paper(site) == "Letter" and site_paper({**site, "paper_size": None}) == "A4"  # Berlin


@pytest.mark.parametrize(("zone", "paper"), [
    ("America/Chicago", "Letter"), ("America/Indiana/Indianapolis", "Letter"), ("Pacific/Honolulu", "Letter"),
    ("America/Toronto", "A4"), ("Europe/Warsaw", "A4"), ("Asia/Tokyo", "A4"),
])
def test_default_paper_by_time_zone(zone: str, paper: str) -> None:
    assert default_paper(zone) == paper
