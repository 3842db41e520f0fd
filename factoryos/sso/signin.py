"""Where every single sign-on ends, whatever the protocol (LDAP, OIDC, later SAML).

Given who the provider says the person is (a stable subject, email, name, groups), this:
applies the provider's group → role rules (at every sign-in), creates the account just in time
on a first sign-in, links the external identity to the account, ends the person's sessions in
the company when their role or permissions changed (a person removed from a group loses the role
at their next sign-in) and refuses a person the rules give no role. It returns what the server
needs to open the session like a password sign-in, plus the audit rows to write; refusals carry
their audit rows too (the server writes them and answers without rolling back, so a lost
membership stays lost).

Linking an existing account by email: only when the email's domain is one the provider serves
(domains are unique across companies) or the account is already a member of this company, so one
company's directory can never claim another company's people. A new account is made only for an
email of the provider's domains (it would otherwise take a global address from its owner). Installation administrators (who
reach every company's backups) always sign in with their local password.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import set_tenant
from factoryos.errors import FactoryOSError, ValidationFailed
from factoryos.identity import validation
from factoryos.identity.accounts import CompanyChoice, find_by_email, user_companies
from factoryos.identity.memberships import MembershipRepository, add_member
from factoryos.identity.permissions import OWNER
from factoryos.identity.sessions import revoke_user_sessions
from factoryos.schema.identity import memberships, users
from factoryos.schema.sso import sso_identities
from factoryos.schema.tenancy import companies
from factoryos.sso.mapping import map_groups, site_scope_after
from factoryos.sso.registry import email_domain, mapping_rules, provider_row
from factoryos.sso.scim_standing import scim_standing

log = logging.getLogger(__name__)

# Stored as the password hash of accounts made by a provider: no password ever verifies against it.
NO_PASSWORD = "!sso"


@dataclass(frozen=True)
class ExternalIdentity:
    """Who a provider says signed in."""

    tenant_id: UUID
    provider_id: UUID
    subject: str  # stable at the provider: LDAP entryUUID/objectGUID, OIDC `sub`
    email: str
    display_name: str | None = None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditRow:
    action: str
    entity_type: str
    entity_id: Any
    before: Any = None
    after: Any = None
    actor_id: UUID | None = None


@dataclass
class SsoOutcome:
    user: RowMapping
    choice: CompanyChoice
    companies: list[CompanyChoice]
    provider_kind: str
    provider_name: str
    audit: list[AuditRow] = field(default_factory=list)
    account_created: bool = False
    sessions_ended: int = 0


class SsoRefused(FactoryOSError):
    """The provider vouched for the person, but this company does not let them in."""

    status = 403
    title = "Sign-in refused"

    def __init__(self, detail: str, *, code: str, audit: list[AuditRow], field: str | None = None) -> None:
        super().__init__(detail, code=code, field=field)
        self.audit = audit


def _member_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"user_id": str(row["user_id"]), "role": row["role"], "granted": sorted(row["granted"]),
            "denied": sorted(row["denied"]),
            "site_ids": [str(s) for s in row["site_ids"]] if row.get("site_ids") is not None else None}


def _create_account(conn: Connection, email: str, display_name: str | None) -> RowMapping:
    try:
        name = validation.display_name(display_name) if display_name else None
    except ValidationFailed:
        name = None
    try:
        with conn.begin_nested():
            return conn.execute(insert(users).values(email=email, display_name=name, password_hash=NO_PASSWORD)
                                .returning(users)).mappings().one()
    except IntegrityError:  # a concurrent first sign-in of the same person won
        found = find_by_email(conn, email)
        assert found is not None
        return found


def resolve_sign_in(conn: Connection, ext: ExternalIdentity) -> SsoOutcome:
    """Map, provision and link one person signing in through a provider of `ext.tenant_id`.

    Leaves the connection's tenant set to that company. Raises SsoRefused (with audit rows)."""
    tenant = ext.tenant_id
    set_tenant(conn, tenant)
    provider = provider_row(conn, tenant, ext.provider_id)
    audit: list[AuditRow] = []
    who = {"email": ext.email, "provider": provider["name"], "provider_id": str(provider["id"])}

    def sso_refusal(message: str, code: str, actor: UUID | None, entity: tuple[str, Any] | None = None) -> SsoRefused:
        entity_type, entity_id = entity or (("user", actor) if actor else ("sso_provider", provider["id"]))
        audit.append(AuditRow("login_failed", entity_type, entity_id, actor_id=actor,
                              after={**who, "reason": code, "groups": sorted(ext.groups)}))
        return SsoRefused(message, code=code, audit=audit)

    if not provider["enabled"]:
        raise sso_refusal(f"sign-in with {provider['name']} is turned off", "sso_provider_disabled", None)
    try:
        email = validation.normalize_email(ext.email)
    except ValidationFailed:
        raise sso_refusal(f"{provider['name']} gave no usable email address for this person", "sso_email_invalid",
                     None) from None
    who["email"] = email

    link = conn.execute(
        select(sso_identities).where(sso_identities.c.tenant_id == tenant,
                                     sso_identities.c.provider_id == provider["id"],
                                     sso_identities.c.subject == ext.subject).with_for_update()
    ).mappings().first()
    repo = MembershipRepository(conn, tenant)
    user: RowMapping | None
    if link is not None:
        user = conn.execute(select(users).where(users.c.id == link["user_id"]).with_for_update()).mappings().one()
    else:
        user = find_by_email(conn, email)
        if user is not None:
            in_domain = email_domain(email) in set(provider["email_domains"])
            if not in_domain and repo.by_user(user["id"]) is None:
                raise sso_refusal(f"an account with {email} already exists outside this company; "
                             f"{provider['name']} may only sign in accounts of its own email domains",
                             "sso_email_in_use", None)
    actor = user["id"] if user is not None else None
    if user is not None and user["installation_admin"]:
        raise sso_refusal("this account administers the whole server: sign in with its password (and code)",
                     "sso_local_account_only", actor)
    if user is not None and user["status"] != "active":
        raise sso_refusal("this account is disabled", "sso_account_disabled", actor)
    # A company provisioned by SCIM: its directory may have deactivated the person, and the
    # person's SCIM groups count with the provider's (the same rules map both).
    standing = scim_standing(conn, tenant, user["id"]) if user is not None else None
    if standing is not None and not standing.active:
        raise sso_refusal("your directory has deactivated your account in this company: ask an administrator",
                          "sso_account_deactivated", actor)
    groups = tuple(ext.groups) + (standing.groups if standing is not None else ())

    member = repo.by_user(user["id"], for_update=True) if user is not None else None
    mapped = map_groups(mapping_rules(conn, tenant, provider["id"]), provider["default_role"], groups)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant)).scalar_one()
    ended = 0
    if member is not None and member["role"] == OWNER:
        role = OWNER  # the owner is the break-glass account: no rule changes it
    elif mapped is None:
        if member is not None:
            repo.delete(member["id"])
            ended = revoke_user_sessions(conn, tenant, member["user_id"], "sso_role_lost")
            audit.append(AuditRow("delete", "membership", member["id"], before=_member_view(member),
                                  after={"reason": "sso_no_role", "provider": provider["name"],
                                         "sessions_ended": ended}, actor_id=actor))
        raise sso_refusal(f"your groups in {provider['name']} give you no role in {company}: ask an administrator",
                     "sso_no_role", actor)
    else:
        role = mapped.role
    created = False
    if user is None:
        if email_domain(email) not in set(provider["email_domains"]):
            # A global account for an address the provider does not serve would squat it.
            raise sso_refusal(f"{email} is not in the email domains of {provider['name']}: an administrator can add "
                         "the domain to the provider, or invite this person", "sso_email_domain", None)
        user = _create_account(conn, email, ext.display_name)
        actor = user["id"]
        created = True
        audit.append(AuditRow("create", "user", user["id"], actor_id=actor,
                              after={"email": user["email"], "display_name": user["display_name"],
                                     "provider": provider["name"], "just_in_time": True}))
    if role != OWNER:
        assert mapped is not None
        sites = site_scope_after(mapped, member["site_ids"] if member is not None else None)
        wanted = {"user_id": str(user["id"]), "role": mapped.role, "granted": list(mapped.granted),
                  "denied": list(mapped.denied), "site_ids": [str(s) for s in sites] if sites is not None else None}
        if member is None:
            member = add_member(conn, tenant, user["id"], mapped.role)
            conn.execute(update(memberships).where(memberships.c.tenant_id == tenant,
                                                   memberships.c.id == member["id"])
                         .values(granted=list(mapped.granted), denied=list(mapped.denied), site_ids=sites))
            audit.append(AuditRow("create", "membership", member["id"], actor_id=actor,
                                  after={**wanted, "provider": provider["name"], "rule": mapped.rule}))
        elif _member_view(member) != wanted:
            conn.execute(update(memberships).where(memberships.c.tenant_id == tenant,
                                                   memberships.c.id == member["id"])
                         .values(role=mapped.role, granted=list(mapped.granted), denied=list(mapped.denied),
                                 site_ids=sites, updated_at=datetime.now(timezone.utc)))
            ended = revoke_user_sessions(conn, tenant, user["id"], "sso_role_changed")
            audit.append(AuditRow("update", "membership", member["id"], actor_id=actor,
                                  before=_member_view(member),
                                  after={**wanted, "provider": provider["name"], "rule": mapped.rule,
                                         "sessions_ended": ended}))

    now = datetime.now(timezone.utc)
    # The directory may have re-created the person's entry (new subject): the account follows it.
    replaced = conn.execute(
        delete(sso_identities).where(sso_identities.c.tenant_id == tenant,
                                     sso_identities.c.provider_id == provider["id"],
                                     sso_identities.c.user_id == user["id"],
                                     sso_identities.c.subject != ext.subject)
        .returning(sso_identities.c.subject)
    ).scalars().all()
    conn.execute(
        pg_insert(sso_identities).values(tenant_id=tenant, provider_id=provider["id"], subject=ext.subject,
                                         user_id=user["id"], email=email, groups=sorted(ext.groups),
                                         last_sign_in_at=now)
        .on_conflict_do_update(constraint="uq_sso_identities_subject",
                               set_={"email": email, "groups": sorted(ext.groups), "last_sign_in_at": now})
    )
    if link is None:
        audit.append(AuditRow("create", "sso_identity", user["id"], actor_id=actor,
                              after={"provider": provider["name"], "subject": ext.subject, "email": email,
                                     "replaced_subjects": replaced}))
    values: dict[str, Any] = {"last_login_at": now}
    if user["display_name"] is None and ext.display_name:
        try:
            values["display_name"] = validation.display_name(ext.display_name)
        except ValidationFailed:
            pass
    user = conn.execute(update(users).where(users.c.id == user["id"]).values(**values).returning(users)
                        ).mappings().one()
    set_tenant(conn, tenant, user["id"])
    return SsoOutcome(
        user=user, choice=CompanyChoice(tenant, company, role), companies=user_companies(conn, user["id"]),
        provider_kind=provider["kind"], provider_name=provider["name"], audit=audit, account_created=created,
        sessions_ended=ended,
    )
