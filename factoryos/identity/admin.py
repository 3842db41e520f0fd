"""Host-side account administration (the `factoryos user` commands), with audit rows.

Runs as the app role like the API, so the tenant policy applies here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Connection, RowMapping, update

from factoryos.audit.writer import AuditEvent, record
from factoryos.db.tenant import set_tenant
from factoryos.errors import NotFound
from factoryos.identity import lockout, mfa
from factoryos.identity.accounts import create_user, find_by_email, set_password, user_companies
from factoryos.identity.companies import CompanyDetails, NewCompany, create_company
from factoryos.identity.permissions import OWNER
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import users
from factoryos.identity.sessions import revoke_user_sessions

CLI_AGENT = "factoryos-cli"


def create_admin(
    conn: Connection, rt: IdentityRuntime, *, email: str, password: str, display_name: str, details: CompanyDetails
) -> NewCompany:
    """A new account owning a new company (what the installer sets up first); made on the
    host, it is an installation administrator too."""
    user = create_user(conn, rt, email=email, password=password, display_name=display_name)
    conn.execute(update(users).where(users.c.id == user["id"]).values(installation_admin=True))
    created = create_company(conn, user["id"], display_name, details)
    for entity, entity_id, after in (
        ("company", created.tenant_id, created.audit_view()),
        ("membership", created.membership["id"], {"user_id": str(user["id"]), "role": OWNER}),
    ):
        record(
            conn,
            AuditEvent(
                tenant_id=created.tenant_id,
                action="create",
                entity_type=entity,
                entity_id=str(entity_id),
                actor_id=user["id"],
                after=after | ({"installation_admin": True} if entity == "membership" else {}),
                user_agent=CLI_AGENT,
            ),
        )
    return created


@dataclass(frozen=True)
class PasswordReset:
    user_id: UUID
    sessions_ended: int
    companies: int


def reset_password(
    conn: Connection, rt: IdentityRuntime, *, email: str, password: str, reset_mfa: bool = False
) -> PasswordReset:
    """New password, lockout cleared, every session of the account ended in every company."""
    user = _account(conn, email)
    set_password(conn, rt, user["id"], password)
    lockout.clear_email(conn, rt, user["email"])
    if reset_mfa:
        mfa.reset(conn, user["id"])
    ended = 0

    def end_sessions(tenant_id: UUID) -> None:
        nonlocal ended
        ended += revoke_user_sessions(conn, tenant_id, user["id"], "password_reset")

    companies = _in_each_company(conn, user["id"], None, {"password_reset": True, "mfa_reset": reset_mfa},
                                 also=end_sessions)  # fmt: skip
    return PasswordReset(user["id"], ended, companies)


def set_installation_admin(conn: Connection, *, email: str, on: bool) -> int:
    """Make the account an installation administrator (or no longer one); recorded in the
    audit chain of each company it belongs to. Returns how many companies that is."""
    user = _account(conn, email)
    conn.execute(update(users).where(users.c.id == user["id"]).values(installation_admin=on))
    return _in_each_company(conn, user["id"], {"installation_admin": bool(user["installation_admin"])},
                            {"installation_admin": on})  # fmt: skip


def _account(conn: Connection, email: str) -> RowMapping:
    user = find_by_email(conn, email)
    if user is None:
        raise NotFound(f"no account with email {email}", code="user_not_found", field="email")
    return user


def _in_each_company(
    conn: Connection,
    user_id: UUID,
    before: dict[str, object] | None,
    after: dict[str, object],
    *,
    also: Callable[[UUID], None] | None = None,
) -> int:
    """A change to an account is recorded in the audit chain of every company it belongs to
    (each inside that company's tenant); `also` runs there first. Returns how many."""
    companies = user_companies(conn, user_id)
    for company in companies:
        set_tenant(conn, company.tenant_id)
        if also is not None:
            also(company.tenant_id)
        record(
            conn,
            AuditEvent(
                tenant_id=company.tenant_id,
                action="update",
                entity_type="user",
                entity_id=str(user_id),
                before=before,
                after=after,
                user_agent=CLI_AGENT,
            ),
        )
    set_tenant(conn, None)
    return len(companies)
