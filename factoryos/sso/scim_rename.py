"""A SCIM userName change: the person's sign-in email follows their directory.

Identity providers (Entra ID, Okta) send `replace userName` (or a PUT with the new one) when a
person's address changes. The userName is the account's email, so the account's email changes with
it, under the rules that made the account (factoryos/sso/scim_users.py): the new address must be of
the provider's email domains (domains are routed to one company, so no directory can take another
company's address); so must the old one when other companies have the account too (an invited
outsider's address is theirs to change); and the new one must be nobody else's, neither another
SCIM user's of the company nor any account's of the installation (409 `uniqueness`; the unique
index on the email decides a race).

Sessions stay: they are bound to the account, not to its address (no token carries the email), and
the person and their role are unchanged; ending them would sign everyone out on a routine directory
change for no protection. Links to external identities stay too: they are keyed by the provider's
subject, so the next single sign-on finds the same account whatever address the provider now sends.
The owner of any company the person belongs to (that company's break-glass account) and
installation administrators keep their local sign-in: SCIM does not change their address.

The new address is the person's sign-in in every company they belong to, so each of those companies
records the change in its own audit chain (`RenameNotice`): the old and new address — which it
already knows, the person being its member — and the name of the company whose directory changed
it, so its auditor knows whom to ask. Nothing else of that company (its SCIM ids, provider, groups,
the person's role there) is written into another company's chain.

The userName is the same in every company (RFC 7643 §4.1.1: the identifier the person signs in
with, unique across the service, compared without case): another company's directory record of
the person follows the rename in the same transaction (`RenameNotice.follow`), so that company's
directory finds them by the new address, and its chain records its own record's change too. So
does a record its directory deactivated (the person is no longer its member, the record stays;
`scim_record_companies`, migration 0032, names that company): its directory finds and reactivates
the person by the address they sign in with, a client caching the record by version sees the
change, and the company's chain says why its record's userName changed (the new address is what
that company's directory is answered anyway). That directory may lag behind: while it still sends
the old address it is repeating, not renaming — it may not give an address of a domain it does not
serve — so its call keeps the sign-in email and does the rest (`only_repeats`), rather than being
refused and unable to deactivate the person. A domain is served by a directory when its provider lists it and no other company routes it: a
disabled provider is not routed, so it could list any domain, and must not give or take another
company's addresses that way (two directories would rename one person back and forth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, text, update
from sqlalchemy.exc import IntegrityError

from factoryos.identity.accounts import user_companies
from factoryos.identity.memberships import MembershipRepository
from factoryos.identity.permissions import OWNER
from factoryos.schema.identity import users
from factoryos.schema.sso import scim_users
from factoryos.schema.tenancy import companies
from factoryos.sso.registry import email_domain
from factoryos.sso.scim import ScimError, invalid_value, uniqueness
from factoryos.sso.scim_tokens import ScimCaller
from factoryos.sso.signin import AuditRow


@dataclass(frozen=True)
class RenameNotice:
    """A rename to record in the chains of the account's companies and of those keeping a SCIM record
    of it (the caller's included when it is one), in `tenants`' order (by company name, as
    `user_companies`): the order in which every writer across companies locks their chains, so two
    such writers never wait for each other in a circle."""

    user_id: UUID
    old_email: str
    new_email: str
    by_company: str  # the name of the company whose directory renamed
    tenants: list[UUID]

    def row(self) -> AuditRow:
        """What each of the person's other companies records: the account's address changed, and by whom."""
        return AuditRow("update", "user", self.user_id, before={"email": self.old_email},
                        after={"email": self.new_email, "source": "scim", "by_company": self.by_company})

    def follow(self, conn: Connection, tenant: UUID) -> AuditRow:
        """In another company of the person, or one whose directory keeps a record of them (the
        transaction's tenant set to it): that record takes the new address too; the row its chain records."""
        row = self.row()
        release_user_name(conn, tenant, self.new_email)
        mine = conn.execute(select(scim_users.c.id, scim_users.c.user_name).where(
            scim_users.c.tenant_id == tenant, scim_users.c.user_id == self.user_id).with_for_update()).first()
        if mine is None or mine.user_name == self.new_email:
            return row
        conn.execute(update(scim_users).where(scim_users.c.tenant_id == tenant, scim_users.c.id == mine.id)
                     .values(user_name=self.new_email, version=scim_users.c.version + 1, updated_at=datetime.now(UTC)))
        assert row.before is not None and row.after is not None
        return AuditRow(row.action, row.entity_type, row.entity_id, before={**row.before, "user_name": mine.user_name},
                        after={**row.after, "user_name": self.new_email, "scim_user_id": str(mine.id)})


def serves(conn: Connection, caller: ScimCaller, email: str) -> bool:
    """Whether the caller's directory may give out addresses of this email's domain: its provider lists
    the domain and no other company routes it."""
    domain = email_domain(email)
    if domain is None or domain not in set(caller.provider["email_domains"]):
        return False
    routed = conn.execute(text("select company_id from sso_domain_providers(:d)"), {"d": domain}).scalars()
    return all(company == caller.tenant_id for company in routed)


def not_served(caller: ScimCaller, email: str) -> ScimError:
    return invalid_value(f"{email} is not of an email domain {caller.provider['name']} serves: add the domain to "
                         "the provider first (a domain another company routes is that company's)",
                         code="scim_email_domain")


def only_repeats(conn: Connection, caller: ScimCaller, account_id: UUID, current: str, sent: str) -> bool:
    """Whether the userName `sent` for the account signing in as `current` is one this directory can only
    be repeating (it is behind the person's other company): the account is shared, and this directory
    serves neither its address nor `sent`, so it could not rename the person to it anyway."""
    if serves(conn, caller, current) or serves(conn, caller, sent):
        return False
    return any(c.tenant_id != caller.tenant_id for c in user_companies(conn, account_id))


# The companies to tell, in chain-locking order: the person's (as `user_companies` orders them) and
# those whose directory keeps a record of them without their being a member (deactivated there).
_TO_TELL = text("""
with members as (select tenant_id, company_name from identity_user_companies(:u))
select tenant_id, company_name from members
union all
select r.tenant_id, r.company_name from scim_record_companies(:u) r
where not exists (select 1 from members m where m.tenant_id = r.tenant_id)
order by company_name, tenant_id
""")


def companies_to_tell(conn: Connection, account_id: UUID) -> list[UUID]:
    return list(conn.execute(_TO_TELL, {"u": account_id}).scalars())


def release_user_name(conn: Connection, tenant: UUID, email: str) -> None:
    """A record of the company still naming `email` whose account has since moved to another address
    (renamed while it was not a member there) takes its account's address, freeing `email`."""
    conn.execute(update(scim_users).where(
        scim_users.c.tenant_id == tenant, func.lower(scim_users.c.user_name) == email.lower(),
        users.c.id == scim_users.c.user_id, func.lower(users.c.email) != email.lower(),
    ).values(user_name=users.c.email, version=scim_users.c.version + 1, updated_at=datetime.now(UTC)))


def change_email(conn: Connection, caller: ScimCaller, before: RowMapping, email: str) -> RenameNotice:
    """Give the account of SCIM user `before` the sign-in email `email` (normalised, not its own)."""
    tenant, provider = caller.tenant_id, caller.provider
    # Checked before the account is locked: a directory that may not rename the person takes no lock
    # that a rename by the one that may (locking this company's record of them as it follows) could
    # wait on in a circle.
    account = conn.execute(select(users).where(users.c.id == before["user_id"])).mappings().one()
    member = MembershipRepository(conn, tenant).by_user(account["id"])
    belongs_to = user_companies(conn, account["id"])
    # The owner of any company, not only of this one: a directory must not move another company's
    # break-glass sign-in.
    if (member is not None and member["role"] == OWNER) or any(c.role == OWNER for c in belongs_to):
        raise ScimError(400, "a company owner is that company's break-glass account: they change their own "
                        "sign-in email", scim_type="mutability", code="scim_owner_protected")
    if account["installation_admin"]:
        raise invalid_value(f"{account['email']} administers the whole server and keeps its local sign-in",
                            code="scim_local_account_only")
    if not serves(conn, caller, email):
        raise not_served(caller, email)
    if not serves(conn, caller, account["email"]) and any(c.tenant_id != tenant for c in belongs_to):
        # An address this directory does not serve, of an account other companies have too: not its to change.
        raise invalid_value(f"{account['email']} is not in the email domains of {provider['name']} and belongs to "
                            "other companies too: the person changes it themselves", code="scim_email_domain")
    account = conn.execute(select(users).where(users.c.id == before["user_id"]).with_for_update()).mappings().one()
    release_user_name(conn, tenant, email)
    taken = conn.execute(select(scim_users.c.id).where(scim_users.c.tenant_id == tenant,
                                                       func.lower(scim_users.c.user_name) == email.lower(),
                                                       scim_users.c.id != before["id"])).first()
    other = conn.execute(select(users.c.id).where(func.lower(users.c.email) == email.lower(),
                                                  users.c.id != account["id"])).first()
    if taken is not None or other is not None:
        raise uniqueness(f"a user with userName {email} already exists")
    try:
        with conn.begin_nested():  # a concurrent change to the same address won the unique index
            conn.execute(update(users).where(users.c.id == account["id"])
                         .values(email=email, updated_at=datetime.now(UTC)))
    except IntegrityError:
        raise uniqueness(f"a user with userName {email} already exists") from None
    name = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant)).scalar_one()
    return RenameNotice(account["id"], account["email"], email, name, companies_to_tell(conn, account["id"]))
