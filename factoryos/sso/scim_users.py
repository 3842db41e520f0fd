"""SCIM Users and Groups of one company, and the memberships they drive.

A SCIM user is an account (users row, `userName` = its email) provisioned into the company. Its
role comes from the display names of its SCIM groups through the token's provider rules
(factoryos/sso/mapping.py), exactly as at a sign-in: recomputed whenever its groups or `active`
change. A role that changes or is lost ends the person's sessions at once; `active: false` (or
DELETE) removes the membership, so the person can neither use a token nor sign in, and the sign-in
refuses a deactivated person (signin.py); `active: true` gives the role back. The company owner
is the break-glass account: no SCIM change takes their role away.

Accounts are linked or made by the same rule as a just-in-time sign-in: an existing account only
when its email is of the provider's domains or it is already a member; a new account only for an
email of the provider's domains. A new userName (the person's address changed in the directory)
changes the account's sign-in email under the same rules (factoryos/sso/scim_rename.py).

The userName answered and filtered on is the account's sign-in email, the same in every company of
the person, compared without case (RFC 7643 §4.1.1, caseExact false): a userName differing only in
case names the same person, so it is no rename and a new user with it is a 409 `uniqueness`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, Table, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.errors import ValidationFailed
from factoryos.identity import validation
from factoryos.identity.accounts import find_by_email
from factoryos.identity.memberships import MembershipRepository, add_member
from factoryos.identity.permissions import OWNER
from factoryos.identity.sessions import revoke_user_sessions
from factoryos.schema.identity import memberships, users
from factoryos.schema.sso import scim_group_members, scim_groups, scim_users
from factoryos.sso.mapping import map_groups, site_scope_after
from factoryos.sso.registry import mapping_rules
from factoryos.sso.scim import (
    Filter,
    Page,
    PatchOperation,
    ScimError,
    as_bool,
    as_text,
    invalid_value,
    not_found,
    uniqueness,
)
from factoryos.sso.scim_models import (
    Resource,
    ScimEmail,
    ScimGroup,
    ScimListResponse,
    ScimMeta,
    ScimName,
    ScimRef,
    ScimUser,
)
from factoryos.sso.scim_rename import (
    RenameNotice,
    change_email,
    not_served,
    only_repeats,
    release_user_name,
    serves,
)
from factoryos.sso.scim_standing import group_names
from factoryos.sso.scim_tokens import ScimCaller
from factoryos.sso.signin import NO_PASSWORD, AuditRow

USER_FILTERS = {"username", "externalid", "id"}
GROUP_FILTERS = {"displayname", "externalid", "id"}


@dataclass
class Outcome:
    """What a SCIM call answers and the audit row it writes in the company; after a rename, also a row
    in each other company of the person (their sign-in email changed there too)."""

    status: int
    document: dict[str, Any] | None
    audit: AuditRow
    renamed: RenameNotice | None = None

    def chain_rows(self, home: UUID) -> list[tuple[UUID, AuditRow]]:
        """Each row with its company, in the order the companies' chains are to be locked (another
        company's is the rename's notice, completed there by `RenameNotice.follow`)."""
        if self.renamed is None:
            return [(home, self.audit)]
        rows = [(tenant, self.audit if tenant == home else self.renamed.row()) for tenant in self.renamed.tenants]
        if all(tenant != home for tenant, _ in rows):  # no longer a member here (deactivated)
            rows.insert(0, (home, self.audit))
        return rows


def _uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw)
    except ValueError:
        return None


def _version(row: RowMapping) -> str:
    return f'W/"{row["version"]}"'


# ---- memberships ---------------------------------------------------------------------------------

def sync_membership(conn: Connection, caller: ScimCaller, row: RowMapping | dict[str, Any]) -> dict[str, Any] | None:
    """Give the person the role their groups map to (none when inactive); what changed, or None."""
    tenant, user_id = caller.tenant_id, row["user_id"]
    repo = MembershipRepository(conn, tenant)
    member = repo.by_user(user_id, for_update=True)
    if member is not None and member["role"] == OWNER:
        return None
    provider = caller.provider
    mapped = None
    if row["active"]:
        mapped = map_groups(mapping_rules(conn, tenant, provider["id"]), provider["default_role"],
                            group_names(conn, tenant, row["id"]))
    if mapped is None:
        if member is None:
            return None
        repo.delete(member["id"])
        ended = revoke_user_sessions(conn, tenant, user_id, "scim_deactivated" if not row["active"] else "scim_role_lost")
        return {"user_id": str(user_id), "role": None, "was": member["role"], "sessions_ended": ended}
    # A rule naming sites sets them; otherwise the sites an administrator set stay (as at a sign-in).
    sites = site_scope_after(mapped, member["site_ids"] if member is not None else None)
    site_view = sorted(str(s) for s in sites) if sites is not None else None
    if member is None:
        created = add_member(conn, tenant, user_id, mapped.role)
        conn.execute(update(memberships).where(memberships.c.tenant_id == tenant, memberships.c.id == created["id"])
                     .values(granted=list(mapped.granted), denied=list(mapped.denied), site_ids=sites))
        return {"user_id": str(user_id), "role": mapped.role, "was": None, "site_ids": site_view,
                "sessions_ended": 0}
    had = member["site_ids"]
    if (member["role"], sorted(member["granted"]), sorted(member["denied"]),
            sorted(str(s) for s in had) if had is not None else None) == (
            mapped.role, sorted(mapped.granted), sorted(mapped.denied), site_view):
        return None
    conn.execute(update(memberships).where(memberships.c.tenant_id == tenant, memberships.c.id == member["id"])
                 .values(role=mapped.role, granted=list(mapped.granted), denied=list(mapped.denied), site_ids=sites,
                         updated_at=datetime.now(timezone.utc)))
    ended = revoke_user_sessions(conn, tenant, user_id, "scim_role_changed")
    return {"user_id": str(user_id), "role": mapped.role, "was": member["role"], "site_ids": site_view,
            "sessions_ended": ended}


def _sync_all(conn: Connection, caller: ScimCaller, scim_user_ids: Iterable[UUID]) -> list[dict[str, Any]]:
    changes = []
    for sid in sorted(set(scim_user_ids), key=str):
        row = _user_row(conn, caller.tenant_id, sid, for_update=True)
        if row is not None:
            change = sync_membership(conn, caller, row)
            if change is not None:
                changes.append(change)
    return changes


def _is_owner(conn: Connection, tenant: UUID, user_id: UUID) -> bool:
    member = MembershipRepository(conn, tenant).by_user(user_id)
    return member is not None and member["role"] == OWNER


# ---- users ---------------------------------------------------------------------------------------

# A SCIM user with its account's sign-in email: the userName it is answered and found by.
_USER_VIEW = select(scim_users, users.c.email.label("account_email")).join(users, users.c.id == scim_users.c.user_id)


def _account_email(conn: Connection, row: RowMapping | dict[str, Any]) -> str:
    if "account_email" in row:
        return str(row["account_email"])
    return str(conn.execute(select(users.c.email).where(users.c.id == row["user_id"])).scalar_one())


def _user_row(conn: Connection, tenant: UUID, sid: UUID, *, for_update: bool = False) -> RowMapping | None:
    stmt = select(scim_users).where(scim_users.c.tenant_id == tenant, scim_users.c.id == sid)
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


def _require_user(conn: Connection, tenant: UUID, raw_id: str) -> RowMapping:
    sid = _uuid(raw_id)
    row = _user_row(conn, tenant, sid, for_update=True) if sid else None
    if row is None:
        raise not_found("User", raw_id)
    return row


def user_doc(conn: Connection, base: str, row: RowMapping) -> ScimUser:
    groups = conn.execute(
        select(scim_groups.c.id, scim_groups.c.display_name)
        .join(scim_group_members, (scim_group_members.c.tenant_id == scim_groups.c.tenant_id)
              & (scim_group_members.c.group_id == scim_groups.c.id))
        .where(scim_group_members.c.tenant_id == row["tenant_id"], scim_group_members.c.scim_user_id == row["id"])
        .order_by(scim_groups.c.display_name)
    ).all()
    name = None
    if row["given_name"] or row["family_name"] or row["display_name"]:
        name = ScimName(given_name=row["given_name"], family_name=row["family_name"], formatted=row["display_name"])
    user_name = _account_email(conn, row)
    return ScimUser(
        id=row["id"], external_id=row["external_id"], user_name=user_name, name=name,
        display_name=row["display_name"], active=row["active"],
        emails=[ScimEmail(value=user_name, type="work", primary=True)],
        groups=[ScimRef(value=str(g.id), ref=f"{base}/Groups/{g.id}", display=g.display_name) for g in groups],
        meta=ScimMeta(resource_type="User", created=row["created_at"], last_modified=row["updated_at"],
                      location=f"{base}/Users/{row['id']}", version=_version(row)),
    )


def _audit_user(row: RowMapping) -> dict[str, Any]:
    return {"user_id": str(row["user_id"]), "user_name": row["user_name"], "external_id": row["external_id"],
            "display_name": row["display_name"], "active": row["active"]}


@dataclass
class UserFields:
    user_name: str | None = None
    external_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    active: bool | None = None
    emails: list[str] = field(default_factory=list)  # as a PATCH sent them: each must be the userName


def _name_fields(fields: UserFields, value: Any) -> None:
    if value is None:
        fields.given_name = fields.family_name = None
        return
    if not isinstance(value, dict):
        raise invalid_value("name must be an object")
    lower = {k.lower(): v for k, v in value.items()}
    fields.given_name = as_text(lower.get("givenname"), "name.givenName", 200)
    fields.family_name = as_text(lower.get("familyname"), "name.familyName", 200)
    if lower.get("formatted") and not fields.display_name:
        fields.display_name = as_text(lower.get("formatted"), "name.formatted", 200)


def _user_fields(doc: Any) -> UserFields:
    if not isinstance(doc, dict):
        raise ScimError(400, "the body must be a JSON object", scim_type="invalidSyntax", code="scim_invalid_syntax")
    lower = {k.lower(): v for k, v in doc.items()}
    fields = UserFields(
        user_name=as_text(lower.get("username"), "userName", 320, required=True),
        external_id=as_text(lower.get("externalid"), "externalId", 500),
        display_name=as_text(lower.get("displayname"), "displayName", 200),
        active=as_bool(lower["active"], "active") if lower.get("active") is not None else None,
    )
    _name_fields(fields, lower.get("name"))
    return fields


def _normalized(user_name: str) -> str:
    try:
        return validation.normalize_email(user_name, field="userName")
    except ValidationFailed:
        raise invalid_value(f"userName must be the person's email address, not {user_name!r}",
                            code="scim_user_name_invalid") from None


def _check_unique(conn: Connection, tenant: UUID, *, user_name: str | None, external_id: str | None,
                  own: UUID | None = None) -> None:
    if user_name is not None:
        stmt = select(scim_users.c.id).where(scim_users.c.tenant_id == tenant,
                                             func.lower(scim_users.c.user_name) == user_name.lower())
        if own is not None:
            stmt = stmt.where(scim_users.c.id != own)
        if conn.execute(stmt).first() is not None:
            raise uniqueness(f"a user with userName {user_name} already exists")
    if external_id is not None:
        stmt = select(scim_users.c.id).where(scim_users.c.tenant_id == tenant, scim_users.c.external_id == external_id)
        if own is not None:
            stmt = stmt.where(scim_users.c.id != own)
        if conn.execute(stmt).first() is not None:
            raise uniqueness(f"a user with externalId {external_id} already exists")


def _account_for(conn: Connection, caller: ScimCaller, email: str, fields: UserFields) -> tuple[RowMapping, bool]:
    """The account this userName provisions: linked or made as a just-in-time sign-in would."""
    provider = caller.provider
    in_domain = serves(conn, caller, email)
    account = find_by_email(conn, email)
    if account is not None:
        if account["installation_admin"]:
            raise invalid_value(f"{email} administers the whole server and keeps its local sign-in",
                                code="scim_local_account_only")
        if not in_domain and MembershipRepository(conn, caller.tenant_id).by_user(account["id"]) is None:
            raise uniqueness(f"an account with {email} already exists outside this company; {provider['name']} "
                             "may only provision accounts of its own email domains")
        if conn.execute(select(scim_users.c.id).where(scim_users.c.tenant_id == caller.tenant_id,
                                                      scim_users.c.user_id == account["id"])).first() is not None:
            raise uniqueness(f"the account {email} is already provisioned")
        return account, False
    if not in_domain:
        raise not_served(caller, email)
    name = fields.display_name or " ".join(p for p in (fields.given_name, fields.family_name) if p) or None
    try:
        name = validation.display_name(name) if name else None
    except ValidationFailed:
        name = None
    try:
        with conn.begin_nested():
            made = conn.execute(insert(users).values(email=email, display_name=name, password_hash=NO_PASSWORD)
                                .returning(users)).mappings().one()
    except IntegrityError:
        raise uniqueness(f"an account with {email} was just created") from None
    return made, True


def create_user(conn: Connection, caller: ScimCaller, base: str, doc: Any) -> Outcome:
    fields = _user_fields(doc)
    assert fields.user_name is not None
    email = _normalized(fields.user_name)
    release_user_name(conn, caller.tenant_id, email)
    _check_unique(conn, caller.tenant_id, user_name=email, external_id=fields.external_id)
    account, created = _account_for(conn, caller, email, fields)
    active = fields.active if fields.active is not None else True
    if not active and _is_owner(conn, caller.tenant_id, account["id"]):
        active = True  # the owner is never deactivated by the directory (break-glass)
    try:
        with conn.begin_nested():
            row = conn.execute(insert(scim_users).values(
                tenant_id=caller.tenant_id, user_id=account["id"], user_name=account["email"],
                external_id=fields.external_id,
                given_name=fields.given_name, family_name=fields.family_name, display_name=fields.display_name,
                active=active).returning(scim_users)).mappings().one()
    except IntegrityError:  # a concurrent create of the same person won
        raise uniqueness(f"a user with userName {email} already exists") from None
    change = sync_membership(conn, caller, row)
    after = {**_audit_user(row), "account_created": created, "membership": change}
    return Outcome(201, user_doc(conn, base, row).document(), AuditRow("create", "scim_user", row["id"], after=after))


def get_user(conn: Connection, caller: ScimCaller, base: str, raw_id: str) -> dict[str, Any]:
    sid = _uuid(raw_id)
    row = conn.execute(_USER_VIEW.where(scim_users.c.tenant_id == caller.tenant_id, scim_users.c.id == sid)
                       ).mappings().first() if sid else None
    if row is None:
        raise not_found("User", raw_id)
    return user_doc(conn, base, row).document()


def list_users(conn: Connection, caller: ScimCaller, base: str, flt: Filter | None, page: Page) -> dict[str, Any]:
    return _listing(conn, caller, scim_users, _USER_VIEW, users.c.email, "username", flt, page,
                    lambda r: user_doc(conn, base, r))


def _listing(conn: Connection, caller: ScimCaller, table: Table, query: Select[Any], name: ColumnElement[str],
             name_attribute: str, flt: Filter | None, page: Page, document: Callable[[RowMapping], Resource]
             ) -> dict[str, Any]:
    """One page of a resource type, filtered by `<name> eq`, `externalId eq` or `id eq` (RFC 7644 §3.4.2)."""
    where = [table.c.tenant_id == caller.tenant_id]
    if flt is not None:
        if flt.attribute == name_attribute:
            where.append(func.lower(name) == flt.value.lower())
        elif flt.attribute == "externalid":
            where.append(table.c.external_id == flt.value)
        else:
            key = _uuid(flt.value)
            where.append(table.c.id == key if key else table.c.id.is_(None))
    total = conn.execute(select(func.count()).select_from(query.where(*where).subquery())).scalar_one()
    rows = conn.execute(query.where(*where).order_by(table.c.created_at, table.c.id)
                        .offset(page.start_index - 1).limit(page.count)).mappings().all()
    resources = [document(r) for r in rows]
    return ScimListResponse(total_results=total, start_index=page.start_index, items_per_page=len(resources),
                            resources=resources).document()


def _save_user(conn: Connection, caller: ScimCaller, base: str, before: RowMapping, fields: UserFields) -> Outcome:
    tenant = caller.tenant_id
    current = _account_email(conn, before)  # the userName in every company of the person
    sent = current if fields.user_name is None else _normalized(fields.user_name)
    for email in fields.emails:
        if email.strip().lower() != sent.lower():
            raise ScimError(400, f"emails follow userName: {email} is not {sent}", scim_type="mutability",
                            code="scim_user_name_immutable")
    active = before["active"] if fields.active is None else fields.active
    if not active and _is_owner(conn, tenant, before["user_id"]):
        raise ScimError(400, "the company owner is the break-glass account and cannot be deactivated by the "
                        "directory", scim_type="mutability", code="scim_owner_protected")
    _check_unique(conn, tenant, user_name=None, external_id=fields.external_id, own=before["id"])
    renamed, not_taken = None, None
    if sent.lower() != current.lower():  # caseExact false: a change of case only is the same address
        if only_repeats(conn, caller, before["user_id"], current, sent):
            not_taken = {"user_name_not_taken": sent}  # the directory is behind the person's other company
        else:
            renamed = change_email(conn, caller, before, sent)
    user_name = renamed.new_email if renamed is not None else current
    values = {"user_name": user_name, "external_id": fields.external_id, "given_name": fields.given_name,
              "family_name": fields.family_name, "display_name": fields.display_name, "active": active}
    if all(before[k] == v for k, v in values.items()):
        return Outcome(200, user_doc(conn, base, before).document(),
                       AuditRow("update", "scim_user", before["id"], before=_audit_user(before),
                                after={**_audit_user(before), "unchanged": True, **(not_taken or {})}))
    row = conn.execute(update(scim_users).where(scim_users.c.tenant_id == tenant, scim_users.c.id == before["id"])
                       .values(**values, version=scim_users.c.version + 1, updated_at=datetime.now(timezone.utc))
                       .returning(scim_users)).mappings().one()
    change = sync_membership(conn, caller, row) if row["active"] != before["active"] else None
    if fields.display_name:
        conn.execute(update(users).where(users.c.id == row["user_id"], users.c.display_name.is_(None))
                     .values(display_name=fields.display_name))
    return Outcome(200, user_doc(conn, base, row).document(),
                   AuditRow("update", "scim_user", row["id"], before=_audit_user(before),
                            after={**_audit_user(row), "membership": change, **(not_taken or {})}), renamed)


def replace_user(conn: Connection, caller: ScimCaller, base: str, raw_id: str, doc: Any) -> Outcome:
    before = _require_user(conn, caller.tenant_id, raw_id)
    return _save_user(conn, caller, base, before, _user_fields(doc))


_USER_PATHS = {"active", "username", "externalid", "displayname", "name", "name.givenname", "name.familyname",
               "name.formatted", "emails"}
# Core User attributes (RFC 7643 §4.1) this service does not keep: identity providers send them by
# default (Entra ID: title, addresses…), so changes to them succeed and are dropped. Also the
# read-only ones some clients repeat in a path-less operation.
_NOT_KEPT = {"nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "timezone", "password",
             "phonenumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509certificates", "id",
             "schemas", "meta", "groups"}


def _apply_user_path(fields: UserFields, op: str, path: str, value: Any) -> None:
    key = path.lower()
    if key.startswith("urn:"):
        core = "urn:ietf:params:scim:schemas:core:2.0:user:"
        if not key.startswith(core):
            return  # extension attributes (enterprise: department, manager…) are not kept
        key = key.removeprefix(core)
    if key.startswith("emails"):
        key = "emails"
    if re.split(r"[.\[]", key, maxsplit=1)[0] in _NOT_KEPT:
        return
    if key not in _USER_PATHS:
        raise ScimError(400, f"unknown attribute path {path!r}", scim_type="invalidPath", code="scim_invalid_path")
    removing = op == "remove"
    if key == "active":
        if removing:
            raise ScimError(400, "active cannot be removed", scim_type="mutability", code="scim_invalid_path")
        fields.active = as_bool(value, "active")
    elif key == "username":
        if removing:
            raise ScimError(400, "userName cannot be removed", scim_type="mutability", code="scim_invalid_path")
        fields.user_name = as_text(value, "userName", 320, required=True)
    elif key == "externalid":
        fields.external_id = None if removing else as_text(value, "externalId", 500)
    elif key == "displayname":
        fields.display_name = None if removing else as_text(value, "displayName", 200)
    elif key == "name":
        _name_fields(fields, None if removing else value)
    elif key == "name.givenname":
        fields.given_name = None if removing else as_text(value, "name.givenName", 200)
    elif key == "name.familyname":
        fields.family_name = None if removing else as_text(value, "name.familyName", 200)
    elif key == "name.formatted":
        fields.display_name = None if removing else as_text(value, "name.formatted", 200)
    elif key == "emails" and not removing:
        # The email is the userName: a client may repeat it (the new one with a rename), checked
        # once every operation is applied, whatever their order.
        values = value if isinstance(value, list) else [value]
        for item in values:
            email = item.get("value") if isinstance(item, dict) else item
            if isinstance(email, str):
                fields.emails.append(email)


def patch_user(conn: Connection, caller: ScimCaller, base: str, raw_id: str, ops: list[PatchOperation]) -> Outcome:
    before = _require_user(conn, caller.tenant_id, raw_id)
    fields = UserFields(None, before["external_id"], before["given_name"], before["family_name"],
                        before["display_name"], before["active"])
    for operation in ops:
        if operation.path:
            _apply_user_path(fields, operation.op, operation.path, operation.value)
        elif isinstance(operation.value, dict):
            for key, value in operation.value.items():
                if isinstance(value, dict) and key.lower().startswith("urn:"):
                    for sub, sub_value in value.items():
                        _apply_user_path(fields, operation.op, f"{key}:{sub}", sub_value)
                else:
                    _apply_user_path(fields, operation.op, key, value)
        else:
            raise invalid_value("an operation without a path needs an object of attributes as its value")
    return _save_user(conn, caller, base, before, fields)


def delete_user(conn: Connection, caller: ScimCaller, raw_id: str) -> Outcome:
    before = _require_user(conn, caller.tenant_id, raw_id)
    if _is_owner(conn, caller.tenant_id, before["user_id"]):
        raise ScimError(400, "the company owner is the break-glass account and cannot be removed by the directory",
                        scim_type="mutability", code="scim_owner_protected")
    gone = conn.execute(delete(scim_users).where(scim_users.c.tenant_id == caller.tenant_id,
                                                 scim_users.c.id == before["id"]).returning(scim_users)
                        ).mappings().one()
    change = sync_membership(conn, caller, {**gone, "active": False})
    return Outcome(204, None, AuditRow("delete", "scim_user", before["id"],
                                       before={**_audit_user(before), "membership_removed": change}))


# ---- groups --------------------------------------------------------------------------------------

def _group_row(conn: Connection, tenant: UUID, raw_id: str, *, for_update: bool = False) -> RowMapping:
    gid = _uuid(raw_id)
    row = None
    if gid is not None:
        stmt = select(scim_groups).where(scim_groups.c.tenant_id == tenant, scim_groups.c.id == gid)
        row = conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()
    if row is None:
        raise not_found("Group", raw_id)
    return row


def _member_ids(conn: Connection, tenant: UUID, gid: UUID) -> set[UUID]:
    return set(conn.execute(select(scim_group_members.c.scim_user_id).where(
        scim_group_members.c.tenant_id == tenant, scim_group_members.c.group_id == gid)).scalars())


def group_doc(conn: Connection, base: str, row: RowMapping, *, members: bool = True) -> ScimGroup:
    refs = None
    if members:
        found = conn.execute(
            select(scim_users.c.id, users.c.email)
            .join(scim_group_members, (scim_group_members.c.tenant_id == scim_users.c.tenant_id)
                  & (scim_group_members.c.scim_user_id == scim_users.c.id))
            .join(users, users.c.id == scim_users.c.user_id)
            .where(scim_group_members.c.tenant_id == row["tenant_id"], scim_group_members.c.group_id == row["id"])
            .order_by(users.c.email)
        ).all()
        refs = [ScimRef(value=str(m.id), ref=f"{base}/Users/{m.id}", display=m.email, type="User") for m in found]
    return ScimGroup(id=row["id"], external_id=row["external_id"], display_name=row["display_name"], members=refs,
                     meta=ScimMeta(resource_type="Group", created=row["created_at"], last_modified=row["updated_at"],
                                   location=f"{base}/Groups/{row['id']}", version=_version(row)))


def _audit_group(conn: Connection, row: RowMapping) -> dict[str, Any]:
    return {"display_name": row["display_name"], "external_id": row["external_id"],
            "members": sorted(str(m) for m in _member_ids(conn, row["tenant_id"], row["id"]))}


def _member_refs(conn: Connection, tenant: UUID, value: Any) -> set[UUID]:
    """The SCIM user ids a `members` value names; 400 for one that is not this company's."""
    items = value if isinstance(value, list) else [value]
    ids: set[UUID] = set()
    for item in items:
        raw = item.get("value") if isinstance(item, dict) else None
        sid = _uuid(raw) if isinstance(raw, str) else None
        if sid is None or _user_row(conn, tenant, sid) is None:
            raise invalid_value(f"members: {raw!r} is not a user of this company", code="scim_member_unknown")
        ids.add(sid)
    return ids


def _set_members(conn: Connection, tenant: UUID, gid: UUID, wanted: set[UUID]) -> set[UUID]:
    """Make the group's members `wanted`; the users whose groups changed."""
    have = _member_ids(conn, tenant, gid)
    gone, new = have - wanted, wanted - have
    if gone:
        conn.execute(delete(scim_group_members).where(scim_group_members.c.tenant_id == tenant,
                                                      scim_group_members.c.group_id == gid,
                                                      scim_group_members.c.scim_user_id.in_(gone)))
    if new:
        conn.execute(pg_insert(scim_group_members).values(
            [{"tenant_id": tenant, "group_id": gid, "scim_user_id": sid} for sid in new]).on_conflict_do_nothing())
    return gone | new


def _group_fields(doc: Any) -> tuple[str, str | None, Any]:
    if not isinstance(doc, dict):
        raise ScimError(400, "the body must be a JSON object", scim_type="invalidSyntax", code="scim_invalid_syntax")
    lower = {k.lower(): v for k, v in doc.items()}
    name = as_text(lower.get("displayname"), "displayName", 256, required=True)
    assert name is not None
    return name, as_text(lower.get("externalid"), "externalId", 500), lower.get("members") or []


def _check_group_name(conn: Connection, tenant: UUID, name: str, own: UUID | None = None) -> None:
    stmt = select(scim_groups.c.id).where(scim_groups.c.tenant_id == tenant,
                                          func.lower(scim_groups.c.display_name) == name.lower())
    if own is not None:
        stmt = stmt.where(scim_groups.c.id != own)
    if conn.execute(stmt).first() is not None:
        raise uniqueness(f"a group named {name} already exists")


def create_group(conn: Connection, caller: ScimCaller, base: str, doc: Any) -> Outcome:
    tenant = caller.tenant_id
    name, external_id, members = _group_fields(doc)
    _check_group_name(conn, tenant, name)
    wanted = _member_refs(conn, tenant, members)
    try:
        with conn.begin_nested():
            row = conn.execute(insert(scim_groups).values(tenant_id=tenant, display_name=name, external_id=external_id)
                               .returning(scim_groups)).mappings().one()
    except IntegrityError:
        raise uniqueness(f"a group named {name} already exists") from None
    changes = _sync_all(conn, caller, _set_members(conn, tenant, row["id"], wanted))
    return Outcome(201, group_doc(conn, base, row).document(),
                   AuditRow("create", "scim_group", row["id"], after={**_audit_group(conn, row), "roles": changes}))


def get_group(conn: Connection, caller: ScimCaller, base: str, raw_id: str, *, members: bool = True
              ) -> dict[str, Any]:
    return group_doc(conn, base, _group_row(conn, caller.tenant_id, raw_id), members=members).document()


def list_groups(conn: Connection, caller: ScimCaller, base: str, flt: Filter | None, page: Page, *,
                members: bool = True) -> dict[str, Any]:
    return _listing(conn, caller, scim_groups, select(scim_groups), scim_groups.c.display_name, "displayname",
                    flt, page, lambda r: group_doc(conn, base, r, members=members))


def _save_group(conn: Connection, caller: ScimCaller, base: str, before: RowMapping, name: str,
                external_id: str | None, wanted: set[UUID]) -> Outcome:
    tenant = caller.tenant_id
    audit_before = _audit_group(conn, before)
    renamed = name != before["display_name"]
    if renamed:
        _check_group_name(conn, tenant, name, own=before["id"])
    touched = _set_members(conn, tenant, before["id"], wanted)
    row = before
    if renamed or external_id != before["external_id"] or touched:
        row = conn.execute(update(scim_groups).where(scim_groups.c.tenant_id == tenant, scim_groups.c.id == before["id"])
                           .values(display_name=name, external_id=external_id, version=scim_groups.c.version + 1,
                                   updated_at=datetime.now(timezone.utc)).returning(scim_groups)).mappings().one()
    if renamed:  # a rule may match the new name: every member's role is looked at again
        touched |= wanted
    changes = _sync_all(conn, caller, touched)
    after = _audit_group(conn, row)
    if after == audit_before:
        after = {**after, "unchanged": True}
    return Outcome(200, group_doc(conn, base, row).document(),
                   AuditRow("update", "scim_group", row["id"], before=audit_before, after={**after, "roles": changes}))


def replace_group(conn: Connection, caller: ScimCaller, base: str, raw_id: str, doc: Any) -> Outcome:
    before = _group_row(conn, caller.tenant_id, raw_id, for_update=True)
    name, external_id, members = _group_fields(doc)
    return _save_group(conn, caller, base, before, name, external_id, _member_refs(conn, caller.tenant_id, members))


def _member_filter(path: str) -> UUID | None:
    """The user id of `members[value eq "…"]`; None for plain `members`."""
    match = re.fullmatch(r'members\s*\[\s*value\s+eq\s+"([^"]*)"\s*\]', path, re.IGNORECASE)
    if match is None:
        if path.lower() == "members":
            return None
        raise ScimError(400, f"unknown attribute path {path!r}", scim_type="invalidPath", code="scim_invalid_path")
    sid = _uuid(match.group(1))
    if sid is None:
        raise ScimError(400, f"no member {match.group(1)!r}", scim_type="noTarget", code="scim_no_target")
    return sid


def patch_group(conn: Connection, caller: ScimCaller, base: str, raw_id: str, ops: list[PatchOperation]) -> Outcome:
    tenant = caller.tenant_id
    before = _group_row(conn, tenant, raw_id, for_update=True)
    name, external_id = before["display_name"], before["external_id"]
    wanted = _member_ids(conn, tenant, before["id"])
    for operation in ops:
        items: list[tuple[str, Any]]
        if operation.path:
            items = [(operation.path, operation.value)]
        elif isinstance(operation.value, dict):
            items = list(operation.value.items())
        else:
            raise invalid_value("an operation without a path needs an object of attributes as its value")
        for path, value in items:
            key = path.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:group:")
            if key in ("id", "schemas", "meta") and not operation.path:
                continue  # some clients repeat these in a path-less replace
            if key == "displayname":
                if operation.op == "remove":
                    raise ScimError(400, "displayName cannot be removed", scim_type="mutability",
                                    code="scim_invalid_path")
                name = as_text(value, "displayName", 256, required=True) or name
            elif key == "externalid":
                external_id = None if operation.op == "remove" else as_text(value, "externalId", 500)
            elif key.startswith("members"):
                one = _member_filter(path)
                if operation.op == "remove":
                    if one is not None:
                        wanted.discard(one)
                    elif value:  # some clients name the members to remove in the value
                        wanted -= {UUID(str(v["value"])) for v in (value if isinstance(value, list) else [value])
                                   if isinstance(v, dict) and _uuid(str(v.get("value")))}
                    else:
                        wanted = set()
                elif operation.op == "add":
                    wanted |= _member_refs(conn, tenant, value)
                else:
                    wanted = _member_refs(conn, tenant, value)
            else:
                raise ScimError(400, f"unknown attribute path {path!r}", scim_type="invalidPath",
                                code="scim_invalid_path")
    return _save_group(conn, caller, base, before, name, external_id, wanted)


def delete_group(conn: Connection, caller: ScimCaller, raw_id: str) -> Outcome:
    tenant = caller.tenant_id
    before = _group_row(conn, tenant, raw_id, for_update=True)
    audit_before = _audit_group(conn, before)
    members = _member_ids(conn, tenant, before["id"])
    conn.execute(delete(scim_groups).where(scim_groups.c.tenant_id == tenant, scim_groups.c.id == before["id"]))
    changes = _sync_all(conn, caller, members)
    return Outcome(204, None, AuditRow("delete", "scim_group", before["id"],
                                       before={**audit_before, "roles_after_delete": changes}))
