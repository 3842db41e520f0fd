"""`factoryos user create-admin` and `reset-password` against the real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.user import app
from factoryos.errors import FactoryOSError
from tests.accounts import PASSWORD, login, new_company, new_email

runner = CliRunner()


@pytest.fixture()
def env(db_urls, settings) -> dict[str, str]:
    return {
        "FACTORYOS_DATABASE_URL": db_urls.app,
        "FACTORYOS_SECRET_KEY": settings.secret_key.get_secret_value(),
        "FACTORYOS_ARGON2_TIME_COST": "1",
        "FACTORYOS_ARGON2_MEMORY_KIB": "64",
        "FACTORYOS_ARGON2_PARALLELISM": "1",
    }


def _create_admin(env, email: str, *extra: str):
    args = [
        "create-admin",
        "--email",
        email,
        "--name",
        "Ida Installer",
        "--company",
        "Plant One",
        "--industry",
        "Plastics",
        "--size",
        "51-200",
        "--city",
        "Graz",
        "--currency",
        "EUR",
        "--timezone",
        "Europe/Vienna",
        "--password-stdin",
        *extra,
    ]
    return runner.invoke(app, args, input=PASSWORD + "\n", env=env)


def test_create_admin_makes_a_company_its_owner_can_sign_in_to(http, env, superuser_engine) -> None:
    email = new_email("admin")
    result = _create_admin(env, email, "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    r = login(http, email)
    assert r.status_code == 200, r.text
    assert (r.json()["company"]["id"], r.json()["company"]["role"]) == (created["company_id"], "owner")
    with superuser_engine.connect() as conn:
        actions = (
            conn.execute(
                text("select action || ':' || entity_type from audit_log where tenant_id = :t order by seq"),
                {"t": created["company_id"]},
            )
            .scalars()
            .all()
        )
    assert actions[:3] == ["create:company", "create:membership", "create:site"]
    # The city and time zone the installer asked for are the main site's.
    with superuser_engine.connect() as conn:
        site = conn.execute(text("select code, name, timezone from sites where tenant_id = :t"),
                            {"t": created["company_id"]}).one()
    assert tuple(site) == ("MAIN", "Graz", "Europe/Vienna") and created["site_id"]


def test_create_admin_rejects_bad_input_with_a_domain_error(env) -> None:
    result = runner.invoke(
        app,
        [
            "create-admin",
            "--email",
            new_email(),
            "--name",
            "Ida",
            "--company",
            "X",
            "--industry",
            "Y",
            "--size",
            "tiny",
            "--city",
            "Z",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, FactoryOSError) and result.exception.field == "company_size"
    email = new_email("dup")
    assert _create_admin(env, email).exit_code == 0
    again = _create_admin(env, email)
    assert getattr(again.exception, "code", None) == "email_taken"


def test_reset_password_ends_sessions_and_clears_lockout(http, env, authenticator) -> None:
    owner = new_company(http)
    for _ in range(authenticator.runtime.policy.lockout_threshold):
        login(http, owner.email, "wrong password!")
    assert login(http, owner.email).status_code == 429
    new_password = "a brand new passphrase"
    result = runner.invoke(
        app, ["reset-password", "--email", owner.email, "--password-stdin"], input=new_password + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert http.get("/api/v1/auth/me", headers=owner.headers).status_code == 401
    assert login(http, owner.email).status_code == 401
    assert login(http, owner.email, new_password).status_code == 200


def test_reset_password_of_unknown_account(env) -> None:
    result = runner.invoke(
        app, ["reset-password", "--email", new_email(), "--password-stdin"], input=PASSWORD + "\n", env=env
    )
    assert getattr(result.exception, "code", None) == "user_not_found"


def _factoryos(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *args], input=stdin,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env},
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow  # initialises and migrates its own embedded PostgreSQL
def test_create_admin_on_a_fresh_embedded_data_dir_prepares_the_database(pg_tmp) -> None:
    """As a small shop's first command, before any `factoryos serve`."""
    run = _factoryos("user", "create-admin", "--email", "first@shop.example", "--name", "Anna Kovač",
                     "--company", "Kovač Precision", "--industry", "Metalworking", "--size", "11-50",
                     "--city", "Maribor", "--password-stdin", env={"FACTORYOS_DATA_DIR": str(pg_tmp)},
                     stdin="a long enough password\n")
    assert run.returncode == 0, run.stderr
    assert "first@shop.example owns 'Kovač Precision'" in run.stdout


def test_an_unreachable_database_is_one_red_line(pg_tmp) -> None:
    url = f"postgresql://factoryos_app@/factoryos?host={pg_tmp}"  # no server listens there
    run = _factoryos("user", "reset-password", "--email", "x@shop.example", "--password-stdin",
                     env={"FACTORYOS_DATABASE_URL": url}, stdin="a long enough password\n")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "╭" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("✗ database error: connection") and "failed" in line


def _me_permissions(http, email: str) -> list[str]:
    r = login(http, email)
    assert r.status_code == 200, r.text
    return http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()[
        "permissions"
    ]


def test_the_installers_admin_is_an_installation_admin_and_a_founder_is_not(http, env) -> None:
    email = new_email("installer")
    assert _create_admin(env, email).exit_code == 0
    assert "installation.admin" in _me_permissions(http, email)
    founder = new_company(http)  # anyone who registers can found a company
    assert "installation.admin" not in _me_permissions(http, founder.email)
    assert "admin.system" in _me_permissions(http, founder.email)


def test_installation_admin_is_granted_and_revoked_on_the_host_and_audited(http, env, superuser_engine) -> None:
    owner = new_company(http)
    granted = _factoryos("user", "installation-admin", "--email", owner.email, env=env)
    assert granted.returncode == 0, granted.stderr
    assert "is now an installation administrator" in granted.stdout and "1 company" in granted.stdout
    assert "installation.admin" in _me_permissions(http, owner.email)
    revoked = _factoryos("user", "installation-admin", "--email", owner.email, "--revoke", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert "installation.admin" not in _me_permissions(http, owner.email)
    with superuser_engine.connect() as conn:
        changes = conn.execute(
            text("select before, after from audit_log where tenant_id = :t and entity_type = 'user' "
                 "and entity_id = :u order by seq"), {"t": owner.tenant_id, "u": owner.user_id},
        ).all()  # fmt: skip
    assert [(c.before, c.after) for c in changes] == [
        ({"installation_admin": False}, {"installation_admin": True}),
        ({"installation_admin": True}, {"installation_admin": False}),
    ]
    unknown = _factoryos("user", "installation-admin", "--email", new_email(), env=env)
    assert unknown.returncode == 1 and "no account with email" in unknown.stderr
    assert "Traceback" not in unknown.stderr
