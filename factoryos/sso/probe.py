"""`Test` on a provider: try its settings and say what happened, in words.

LDAP: connect (each URL in turn), bind as the service account, find the given person, read their
groups (nested too) and say which role the mapping rules would give them; with a password, also
check it by binding as them. Nothing is stored. OIDC: `factoryos.sso.oidc_test.test_provider`
when that module exists.
"""

from __future__ import annotations

import importlib
from typing import Any

from factoryos.errors import FactoryOSError
from factoryos.identity.permissions import ROLE_TITLES
from factoryos.sso.ldap import LdapDirectory, Trace
from factoryos.sso.ldap_config import LdapConfig
from factoryos.sso.mapping import map_groups
from factoryos.sso.models import MappingRuleOut, ProviderTestIn, ProviderTestOut, ProviderTestStep


def _steps(trace: Trace) -> list[ProviderTestStep]:
    return [ProviderTestStep(ok=ok, step=step, message=message) for ok, step, message in trace.steps]


def probe_ldap(name: str, config: dict[str, Any], secret: str | None, rules: list[MappingRuleOut],
              default_role: str | None, body: ProviderTestIn) -> ProviderTestOut:
    cfg = LdapConfig.model_validate(config)
    directory = LdapDirectory(cfg, secret, name)
    trace = Trace()
    password = body.password.get_secret_value() if body.password else None
    try:
        if not body.username:
            conn = directory._service(trace) if cfg.bind == "service" else directory.connect(trace)[0]
            conn.unbind()
            return ProviderTestOut(ok=True, summary=f"{name} answers" + (" and the service account signs in"
                                                                         if cfg.bind == "service" else ""),
                                   steps=_steps(trace))
        if password is not None or cfg.bind == "direct":
            person = directory.authenticate(body.username, password or "", trace)
        else:
            person = directory.lookup(body.username, trace)
    except FactoryOSError as exc:
        trace.log_step(False, "result", exc.detail)
        return ProviderTestOut(ok=False, summary=exc.detail, steps=_steps(trace))
    if person is None:
        if cfg.bind == "direct" and password is None:
            summary = "a direct-bind directory needs the person's password to look them up"
        else:
            summary = f"{body.username} was not found" + (" or the password is not correct" if password else "")
        return ProviderTestOut(ok=False, summary=summary, steps=_steps(trace))
    mapped = map_groups(rules, default_role, person.groups)
    role = mapped.role if mapped else None
    groups = ", ".join(person.group_names) or "no groups"
    title = ROLE_TITLES.get(role, role) if role else None
    summary = (f"found {person.display_name or person.dn} ({person.email or 'no email'}), member of {groups}; "
               + (f"they would sign in as {title}" if title else "no rule gives them a role: they would be refused"))
    user = {"dn": person.dn, "subject": person.subject, "email": person.email, "display_name": person.display_name,
            "groups": list(person.groups)}
    return ProviderTestOut(ok=True, summary=summary, steps=_steps(trace), user=user, role=role)


def probe_other(kind: str, name: str, config: dict[str, Any], secret: str | None) -> ProviderTestOut:
    try:
        module = importlib.import_module(f"factoryos.sso.{kind}_test")
    except ModuleNotFoundError:
        return ProviderTestOut(ok=False, summary=f"testing {kind.upper()} providers is not available in this version",
                               steps=[])
    return module.test_provider(config, secret, name)
