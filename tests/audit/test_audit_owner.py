"""No FactoryOS database role can switch the audit trail's protection off (security round two,
item 2): the audit tables, their guarding functions and the schema belong to a NOLOGIN role."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from factoryos.db.audit_guard import secure_audit
from factoryos.db.roles import AUDIT_ROLE, libpq_url
from tests.audit.test_chain import new_company, write_events

ATTACKS = [
    "alter table audit_log disable trigger audit_log_no_update_delete",
    "alter table audit_log disable trigger all",
    "drop trigger audit_log_no_update_delete on audit_log",
    "alter table audit_log owner to current_user",
    "drop table audit_log cascade",
    "truncate audit_log",
    "alter table audit_log_default disable trigger audit_log_no_truncate",
    "create or replace function audit_log_deny() returns trigger language plpgsql as $$ begin return null; end $$",
    "alter function audit_log_deny() owner to current_user",
    "drop table audit_chain_heads",
    "alter table audit_chain_heads disable row level security",
    "drop table audit_anchors",
    "alter table audit_anchors disable trigger all",
    "alter schema public owner to current_user",
    "alter schema public rename to elsewhere",
]


@pytest.mark.parametrize("role", ["owner", "app"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_no_factoryos_role_can_disarm_the_audit_trail(db_urls, app_engine, superuser_engine, role, attack) -> None:
    write_events(app_engine, new_company(superuser_engine), 1)
    url = {"owner": db_urls.owner, "app": db_urls.app}[role]
    with psycopg.connect(libpq_url(url)) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(attack)


def test_the_audit_role_is_nobodys(db_urls) -> None:
    with psycopg.connect(libpq_url(db_urls.owner)) as conn:
        row = conn.execute(
            "select r.rolcanlogin, pg_has_role('factoryos_owner', r.oid, 'MEMBER'), "
            "pg_has_role('factoryos_app', r.oid, 'MEMBER') from pg_roles r where r.rolname = %s", (AUDIT_ROLE,)
        ).fetchone()
        assert row == (False, False, False)
        owners = dict(conn.execute(
            "select c.relname, pg_get_userbyid(c.relowner) from pg_class c "
            "where c.relname in ('audit_log', 'audit_chain_heads', 'audit_anchors', 'audit_log_default')").fetchall())
        assert set(owners.values()) == {AUDIT_ROLE}, owners
        assert conn.execute("select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'public'").fetchone()[0] \
            == AUDIT_ROLE


def test_the_app_still_writes_audit_rows_and_prepares_partitions(db_urls, app_engine, superuser_engine) -> None:
    tenant = new_company(superuser_engine)
    write_events(app_engine, tenant, 2)
    with psycopg.connect(libpq_url(db_urls.app)) as conn:
        assert conn.execute("select audit_ensure_partitions(40)").fetchone()[0] >= 0  # runs as the audit role
        made = conn.execute(
            "select pg_get_userbyid(c.relowner) from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'audit_log'::regclass order by c.relname desc limit 1").fetchone()[0]
    assert made == AUDIT_ROLE
    assert secure_audit(db_urls.admin, "factoryos_test") >= 3  # idempotent: running it again changes nothing
