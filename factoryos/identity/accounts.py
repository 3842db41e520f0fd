"""Global user accounts: creation, lookup, password and profile changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from factoryos.errors import Conflict, NotFound
from factoryos.identity import validation
from factoryos.identity.runtime import IdentityRuntime
from factoryos.schema.identity import users


@dataclass(frozen=True)
class CompanyChoice:
    tenant_id: UUID
    name: str
    role: str


def find_by_email(conn: Connection, email: str) -> RowMapping | None:
    return conn.execute(select(users).where(func.lower(users.c.email) == email.strip().lower())).mappings().first()


def get_user(conn: Connection, user_id: UUID, *, for_update: bool = False) -> RowMapping | None:
    stmt = select(users).where(users.c.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


def require_user(conn: Connection, user_id: UUID, *, for_update: bool = False) -> RowMapping:
    row = get_user(conn, user_id, for_update=for_update)
    if row is None:
        raise NotFound("no such user", code="user_not_found")
    return row


def create_user(
    conn: Connection, rt: IdentityRuntime, *, email: str, password: str, display_name: str | None = None
) -> RowMapping:
    email = validation.normalize_email(email)
    name = validation.display_name(display_name) if display_name is not None else None
    rt.passwords.check_rules(password, email=email, user_inputs=[name] if name else ())
    if find_by_email(conn, email) is not None:
        raise Conflict("an account with this email already exists", code="email_taken", field="email")
    values = {"email": email, "display_name": name, "password_hash": rt.passwords.hash(password)}
    try:
        with conn.begin_nested():
            return conn.execute(insert(users).values(**values).returning(users)).mappings().one()
    except IntegrityError:
        # A concurrent registration won the unique index between our check and insert.
        raise Conflict("an account with this email already exists", code="email_taken", field="email") from None


def register_quietly(
    conn: Connection, rt: IdentityRuntime, *, email: str, password: str, display_name: str | None = None
) -> RowMapping | None:
    """Create an account, or do nothing when the email has one: None then, and the caller
    answers exactly as for a new account. The password is hashed either way, so the time taken
    does not tell the two apart; the existing account is left untouched."""
    try:
        return create_user(conn, rt, email=email, password=password, display_name=display_name)
    except Conflict as exc:
        if exc.code != "email_taken":
            raise
        rt.passwords.hash(password)
        return None


def set_password(conn: Connection, rt: IdentityRuntime, user_id: UUID, password: str) -> None:
    user = require_user(conn, user_id, for_update=True)
    rt.passwords.check_rules(password, email=user["email"],
                             user_inputs=[user["display_name"]] if user["display_name"] else ())
    now = datetime.now(timezone.utc)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=rt.passwords.hash(password), password_changed_at=now, updated_at=now)
    )


def set_display_name(conn: Connection, user_id: UUID, name: str) -> RowMapping:
    return (
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(display_name=validation.display_name(name), updated_at=datetime.now(timezone.utc))
            .returning(users)
        )
        .mappings()
        .one()
    )


def user_companies(conn: Connection, user_id: UUID) -> list[CompanyChoice]:
    """Every company the user belongs to, through the one narrow cross-tenant function."""
    rows = conn.execute(
        text("select tenant_id, company_name, role from identity_user_companies(:u) order by company_name, tenant_id"),
        {"u": user_id},
    )
    return [CompanyChoice(r.tenant_id, r.company_name, r.role) for r in rows]
