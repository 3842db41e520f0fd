"""Identity providers of a company: create, read, change, delete, and route an email to one.

Each provider's `config` is validated by its kind's model (LDAP: `LdapConfig`; OIDC: the
`validate_config(dict) -> dict` of `factoryos.sso.oidc_config` when that module exists); the
secret is stored encrypted and read back only by the sign-in code that needs it
(`provider_secret`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import Connection, RowMapping, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from factoryos.db.tenant import set_tenant
from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.identity.permissions import check_permission_names
from factoryos.plain_errors import plain
from factoryos.schema.sso import sso_mapping_rules, sso_providers, sso_settings
from factoryos.schema.tenancy import companies
from factoryos.sso.ldap_config import LdapConfig
from factoryos.sso.mapping import check_rule_sites
from factoryos.sso.models import (
    MappingRuleIn,
    MappingRuleOut,
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    SsoSettings,
    SsoSettingsPatch,
)
from factoryos.sso.secrets import decrypt_secret, encrypt_secret

_DOMAIN = re.compile(r"^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


@dataclass(frozen=True)
class RoutedProvider:
    """An enabled provider that serves an email's domain."""

    tenant_id: UUID
    company_name: str
    provider_id: UUID
    kind: str
    name: str


def _config_error(exc: ValidationError) -> ValidationFailed:
    problems = [("config" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]),
                 plain(e)) for e in exc.errors()]
    field, message = problems[0]
    return ValidationFailed(f"{field}: {message}", code="sso_config_invalid", field=field,
                            extra={"errors": [{"field": f, "message": m} for f, m in problems]})


def validate_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The provider settings as stored, or a 422 naming the field."""
    if kind == "ldap":
        try:
            return LdapConfig.model_validate(config).model_dump(mode="json")
        except ValidationError as exc:
            raise _config_error(exc) from None
    if kind in ("oidc", "saml"):
        try:
            module = importlib.import_module(f"factoryos.sso.{kind}_config")
        except ModuleNotFoundError:
            return dict(config)
        try:
            return module.validate_config(config)
        except ValidationError as exc:
            raise _config_error(exc) from None
    raise ValidationFailed("SAML providers are not supported by this version", code="sso_kind_unsupported",
                           field="kind")


def normalize_domains(domains: list[str]) -> list[str]:
    out: list[str] = []
    for index, raw in enumerate(domains):
        domain = raw.strip().lower().removeprefix("@")
        if not _DOMAIN.match(domain):
            raise ValidationFailed(f"{raw!r} is not an email domain (e.g. plant.example.com)",
                                   code="sso_domain_invalid", field=f"email_domains[{index}]")
        if domain not in out:
            out.append(domain)
    return out


def _rules_in(rules: Sequence[MappingRuleIn]) -> list[dict[str, Any]]:
    return [
        {"position": i + 1, "group_name": r.group.strip(), "role": r.role,
         "granted": check_permission_names(r.granted, f"rules[{i}].granted"),
         "denied": check_permission_names(r.denied, f"rules[{i}].denied"),
         "site_ids": list(dict.fromkeys(r.site_ids)) if r.site_ids is not None else None}
        for i, r in enumerate(rules)
    ]


def mapping_rules(conn: Connection, tenant_id: UUID, provider_id: UUID) -> list[MappingRuleOut]:
    rows = conn.execute(
        select(sso_mapping_rules)
        .where(sso_mapping_rules.c.tenant_id == tenant_id, sso_mapping_rules.c.provider_id == provider_id)
        .order_by(sso_mapping_rules.c.position)
    ).mappings()
    return [MappingRuleOut(position=r["position"], group=r["group_name"], role=r["role"], granted=list(r["granted"]),
                           denied=list(r["denied"]), site_ids=r["site_ids"]) for r in rows]


def provider_out(conn: Connection, row: RowMapping) -> ProviderOut:
    return ProviderOut(
        id=row["id"], kind=row["kind"], name=row["name"], enabled=row["enabled"],
        email_domains=list(row["email_domains"]), config=dict(row["config"]),
        has_secret=row["secret_encrypted"] is not None, default_role=row["default_role"],
        rules=mapping_rules(conn, row["tenant_id"], row["id"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def provider_row(conn: Connection, tenant_id: UUID, provider_id: UUID, *, for_update: bool = False) -> RowMapping:
    stmt = select(sso_providers).where(sso_providers.c.tenant_id == tenant_id, sso_providers.c.id == provider_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFound(f"identity provider {provider_id} not found", code="sso_provider_not_found")
    return row


def provider_secret(keys: DerivedKeys, row: RowMapping) -> str | None:
    return decrypt_secret(keys, row["secret_encrypted"]) if row["secret_encrypted"] else None


def list_providers(conn: Connection, tenant_id: UUID) -> list[ProviderOut]:
    rows = conn.execute(
        select(sso_providers).where(sso_providers.c.tenant_id == tenant_id).order_by(sso_providers.c.name)
    ).mappings()
    return [provider_out(conn, r) for r in rows.all()]


def get_provider(conn: Connection, tenant_id: UUID, provider_id: UUID) -> ProviderOut:
    return provider_out(conn, provider_row(conn, tenant_id, provider_id))


def _write(conn: Connection, stmt: Any) -> RowMapping:
    try:
        with conn.begin_nested():
            return conn.execute(stmt).mappings().one()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if constraint == "uq_sso_providers_tenant_name":
            raise Conflict("another provider of this company has that name", code="sso_provider_name_taken",
                           field="name") from None
        if constraint == "uq_sso_domain_company":
            raise Conflict("one of these email domains is already routed to another company's provider",
                           code="sso_domain_taken", field="email_domains") from None
        raise


def _replace_rules(conn: Connection, tenant_id: UUID, provider_id: UUID, rules: list[dict[str, Any]]) -> None:
    conn.execute(delete(sso_mapping_rules).where(sso_mapping_rules.c.tenant_id == tenant_id,
                                                 sso_mapping_rules.c.provider_id == provider_id))
    if rules:
        conn.execute(insert(sso_mapping_rules), [{**r, "tenant_id": tenant_id, "provider_id": provider_id}
                                                 for r in rules])


def create_provider(conn: Connection, keys: DerivedKeys, tenant_id: UUID, body: ProviderIn) -> ProviderOut:
    config = validate_config(body.kind, body.config)
    domains = normalize_domains(body.email_domains)
    rules = _rules_in(body.rules)
    check_rule_sites(conn, tenant_id, body.rules)
    secret = body.secret.get_secret_value() if body.secret else None
    row = _write(conn, insert(sso_providers).values(
        tenant_id=tenant_id, kind=body.kind, name=body.name.strip(), enabled=body.enabled, email_domains=domains,
        config=config, secret_encrypted=encrypt_secret(keys, secret) if secret else None,
        default_role=body.default_role,
    ).returning(sso_providers))
    _replace_rules(conn, tenant_id, row["id"], rules)
    return provider_out(conn, row)


def update_provider(
    conn: Connection, keys: DerivedKeys, tenant_id: UUID, provider_id: UUID, body: ProviderPatch
) -> tuple[ProviderOut, ProviderOut]:
    """(before, after); a patch that changes nothing returns the same object twice."""
    row = provider_row(conn, tenant_id, provider_id, for_update=True)
    before = provider_out(conn, row)
    values: dict[str, Any] = {}
    if body.name is not None:
        values["name"] = body.name.strip()
    if body.enabled is not None:
        values["enabled"] = body.enabled
    if body.email_domains is not None:
        values["email_domains"] = normalize_domains(body.email_domains)
    if body.config is not None:
        values["config"] = validate_config(row["kind"], body.config)
    if body.secret is not None:
        secret = body.secret.get_secret_value()
        values["secret_encrypted"] = encrypt_secret(keys, secret) if secret else None
    if body.refuse_unmapped:
        values["default_role"] = None
    elif body.default_role is not None:
        values["default_role"] = body.default_role
    rules = _rules_in(body.rules) if body.rules is not None else None
    check_rule_sites(conn, tenant_id, body.rules or [])
    values = {k: v for k, v in values.items() if v != row[k] or k == "secret_encrypted"}
    if not values and (rules is None or rules == _rules_in(before.rules)):
        return before, before
    values["updated_at"] = datetime.now(timezone.utc)
    row = _write(conn, update(sso_providers).where(sso_providers.c.tenant_id == tenant_id,
                                                  sso_providers.c.id == provider_id)
                 .values(**values).returning(sso_providers))
    if rules is not None:
        _replace_rules(conn, tenant_id, provider_id, rules)
    return before, provider_out(conn, row)


def delete_provider(conn: Connection, tenant_id: UUID, provider_id: UUID) -> ProviderOut:
    """Remove a provider with its rules and linked identities (the accounts stay)."""
    before = provider_out(conn, provider_row(conn, tenant_id, provider_id, for_update=True))
    conn.execute(delete(sso_providers).where(sso_providers.c.tenant_id == tenant_id,
                                             sso_providers.c.id == provider_id))
    return before


def audit_view(provider: ProviderOut) -> dict[str, Any]:
    """What the audit trail keeps of a provider (no secret, by construction of ProviderOut)."""
    return provider.model_dump(mode="json", exclude={"created_at", "updated_at"})


# ---- company options -------------------------------------------------------------------------

def get_settings(conn: Connection, tenant_id: UUID) -> SsoSettings:
    row = conn.execute(select(sso_settings).where(sso_settings.c.tenant_id == tenant_id)).mappings().first()
    if row is None:
        return SsoSettings()
    return SsoSettings(require_sso=row["require_sso"], require_mfa_local=row["require_mfa_local"])


def update_settings(conn: Connection, tenant_id: UUID, body: SsoSettingsPatch) -> tuple[SsoSettings, SsoSettings]:
    before = get_settings(conn, tenant_id)
    after = before.model_copy(update=body.model_dump(exclude_none=True))
    if after != before:
        conn.execute(pg_insert(sso_settings).values(tenant_id=tenant_id, **after.model_dump(),
                                                    updated_at=datetime.now(timezone.utc))
                     .on_conflict_do_update(index_elements=["tenant_id"],
                                            set_={**after.model_dump(), "updated_at": datetime.now(timezone.utc)}))
    return before, after


# ---- routing an email before sign-in (crosses companies) --------------------------------------

def email_domain(email: str) -> str | None:
    _, at, domain = email.strip().lower().rpartition("@")
    return domain if at and domain else None


def providers_for_email(conn: Connection, email: str) -> list[RoutedProvider]:
    """The enabled providers serving the email's domain (one company at most), by name.

    Reads each company's rows under its own tenant setting; the tenant is unset afterwards."""
    domain = email_domain(email)
    if domain is None:
        return []
    pairs = conn.execute(text("select company_id, provider_id from sso_domain_providers(:d)"), {"d": domain}).all()
    found: list[RoutedProvider] = []
    try:
        for company_id, provider_id in pairs:
            set_tenant(conn, company_id)
            row = conn.execute(
                select(sso_providers.c.id, sso_providers.c.kind, sso_providers.c.name, companies.c.name.label("company"))
                .join(companies, companies.c.tenant_id == sso_providers.c.tenant_id)
                .where(sso_providers.c.tenant_id == company_id, sso_providers.c.id == provider_id,
                       sso_providers.c.enabled.is_(True))
            ).first()
            if row is not None:
                found.append(RoutedProvider(company_id, row.company, row.id, row.kind, row.name))
    finally:
        set_tenant(conn, None)
    return sorted(found, key=lambda p: (p.name.lower(), str(p.provider_id)))


def company_count(conn: Connection) -> int:
    return int(conn.execute(text("select sso_company_count()")).scalar_one())
