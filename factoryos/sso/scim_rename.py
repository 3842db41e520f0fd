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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.exc import IntegrityError

from factoryos.identity.accounts import CompanyChoice, user_companies
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
    """A rename to record in the chains of the account's companies (the caller's included when it
    is one), in `companies`' order: the order in which every writer across companies locks their
    chains, so two such writers never wait for each other in a circle."""

    user_id: UUID
    old_email: str
    new_email: str
    by_company: str  # the name of the company whose directory renamed
    companies: list[CompanyChoice]

    def row(self) -> AuditRow:
        """What each of the person's other companies records: the account's address changed, and by whom."""
        return AuditRow("update", "user", self.user_id, before={"email": self.old_email},
                        after={"email": self.new_email, "source": "scim", "by_company": self.by_company})


def change_email(conn: Connection, caller: ScimCaller, before: RowMapping, email: str) -> RenameNotice:
    """Give the account of SCIM user `before` the sign-in email `email` (normalised, not its own)."""
    tenant, provider = caller.tenant_id, caller.provider
    account = conn.execute(select(users).where(users.c.id == before["user_id"]).with_for_update()).mappings().one()
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
    domains = set(provider["email_domains"])
    if email_domain(email) not in domains:
        raise invalid_value(f"{email} is not in the email domains of {provider['name']}: add the domain to the "
                            "provider first", code="scim_email_domain")
    if email_domain(account["email"]) not in domains and any(c.tenant_id != tenant for c in belongs_to):
        # An address this directory does not serve, of an account other companies have too: not its to change.
        raise invalid_value(f"{account['email']} is not in the email domains of {provider['name']} and belongs to "
                            "other companies too: the person changes it themselves", code="scim_email_domain")
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
    return RenameNotice(account["id"], account["email"], email, name, belongs_to)
