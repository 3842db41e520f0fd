"""Checking a person against an LDAP directory or Active Directory (ldap3).

The password is checked by binding as the person and is never stored. URLs are tried in order
(failover); every connection is encrypted when the provider says so (LDAPS or StartTLS), with the
provider's CA bundle and the certificate's name checked. An empty password is refused before any
bind: LDAP treats a bind with a DN and no password as anonymous and *succeeds* (RFC 4513 §5.1.2).

Groups: the person's `memberOf`, or a search of the group base for groups naming them. Nested
groups: Active Directory resolves the whole chain itself with the matching rule
LDAP_MATCHING_RULE_IN_CHAIN (OID 1.2.840.113556.1.4.1941) in one search. OpenLDAP has no such
rule, so the chain is walked here: level by level, the groups that have any group of the previous
level as a member, at most `max_nesting` levels and never a group twice (a cycle of groups ends).
"""

from __future__ import annotations

import logging
import math
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# ldap3 ships no type information.
from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls  # type: ignore[import-untyped]
from ldap3.core.exceptions import LDAPException  # type: ignore[import-untyped]
from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]
from ldap3.utils.dn import escape_rdn  # type: ignore[import-untyped]

from factoryos.errors import FactoryOSError
from factoryos.sso.ldap_config import LdapConfig

log = logging.getLogger(__name__)

IN_CHAIN = "1.2.840.113556.1.4.1941"


class DirectoryUnavailable(FactoryOSError):
    """No URL of the provider answered (or TLS could not be set up)."""

    code = "sso_directory_unavailable"
    status = 503
    title = "Directory unavailable"


class DirectoryRefused(FactoryOSError):
    """The directory answered but refused the service account or a search: a settings problem."""

    code = "sso_directory_error"
    status = 502
    title = "Directory error"


@dataclass(frozen=True)
class DirectoryUser:
    dn: str
    subject: str
    email: str | None
    display_name: str | None
    groups: tuple[str, ...] = ()  # group DNs, direct and nested
    group_names: tuple[str, ...] = ()


@dataclass
class Trace:
    """What was tried, in words (the provider test shows it; sign-in only logs it)."""

    steps: list[tuple[bool, str, str]] = field(default_factory=list)

    def log_step(self, ok: bool, step: str, message: str) -> None:
        self.steps.append((ok, step, message))


def _first(attributes: dict[str, Any], name: str) -> Any:
    value = attributes.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _subject(entry: dict[str, Any], attribute: str) -> str:
    raw = _first(entry.get("raw_attributes", {}), attribute)
    if isinstance(raw, bytes) and len(raw) == 16 and attribute.lower() == "objectguid":
        return str(uuid.UUID(bytes_le=raw))  # AD's GUID is stored little-endian
    value = _first(entry.get("attributes", {}), attribute)
    if value:
        return str(value).strip("{}").lower() if attribute.lower() in ("objectguid", "entryuuid") else str(value)
    return "dn:" + entry["dn"].lower()  # no stable id: fall back to the DN


def _rdn_value(dn: str) -> str:
    first = dn.split(",", 1)[0]
    return first.split("=", 1)[1] if "=" in first else dn


class LdapDirectory:
    def __init__(self, config: LdapConfig, secret: str | None, name: str) -> None:
        self.config = config
        self.secret = secret
        self.name = name

    # ---- connections ----------------------------------------------------------------------------

    def _tls(self) -> Tls:
        # Without a bundle, the host's trusted certificates are used.
        return Tls(validate=ssl.CERT_REQUIRED, version=ssl.PROTOCOL_TLS_CLIENT,
                   ca_certs_data=self.config.ca_bundle or None)

    def _server(self, url: str) -> Server:
        parts = urlsplit(url)
        ldaps = parts.scheme.lower() == "ldaps"
        port = parts.port or (636 if ldaps else 389)
        secure = ldaps or self.config.start_tls
        return Server(parts.hostname or "", port=port, use_ssl=ldaps, tls=self._tls() if secure else None,
                      get_info=NONE, connect_timeout=self.config.timeout_seconds)

    def connect(self, trace: Trace | None = None) -> tuple[Connection, str]:
        """An open (not yet bound) connection to the first URL that answers."""
        failures: list[str] = []
        for url in self.config.urls:
            conn = Connection(self._server(url), receive_timeout=math.ceil(self.config.timeout_seconds), read_only=True,
                              raise_exceptions=False, auto_referrals=False)
            try:
                conn.open()
                if self.config.start_tls and not conn.start_tls():
                    raise LDAPException(f"StartTLS refused: {conn.result.get('message') or conn.result}")
            except (LDAPException, OSError) as exc:
                reason = _reason(exc)
                failures.append(f"{url}: {reason}")
                if trace:
                    trace.log_step(False, "connect", f"{url} did not answer: {reason}")
                log.warning("directory %s: %s unreachable: %s", self.name, url, reason)
                _close(conn)
                continue
            if trace:
                trace.log_step(True, "connect", f"connected to {url}" + (" with StartTLS" if self.config.start_tls else ""))
            return conn, url
        raise DirectoryUnavailable(
            f"the directory {self.name!r} cannot be reached ({'; '.join(failures)})",
            extra={"provider": self.name, "urls": list(self.config.urls)},
        )

    def _bind(self, conn: Connection, dn: str | None, password: str | None) -> bool:
        conn.authentication, conn.user, conn.password = SIMPLE, dn, password
        try:
            return bool(conn.bind())
        except LDAPException as exc:
            raise DirectoryUnavailable(f"the directory {self.name!r} stopped answering: {_reason(exc)}") from None

    def _service(self, trace: Trace | None) -> Connection:
        conn, url = self.connect(trace)
        if not self._bind(conn, self.config.bind_dn, self.secret or ""):
            message = conn.result.get("description") or "refused"
            _close(conn)
            if trace:
                trace.log_step(False, "service bind", f"{self.config.bind_dn} could not sign in to {url}: {message}")
            raise DirectoryRefused(f"the directory {self.name!r} refused the service account ({message}): "
                                   "check bind_dn and its password", field="config.bind_dn")
        if trace:
            trace.log_step(True, "service bind", f"signed in as {self.config.bind_dn}")
        return conn

    # ---- people and groups ------------------------------------------------------------------------

    def _filter(self, login: str) -> str:
        login = login.strip()
        username = login.split("@", 1)[0]
        return self.config.user_filter.format(email=escape_filter_chars(login), username=escape_filter_chars(username))

    def _search(self, conn: Connection, base: str, flt: str, attributes: list[str], scope: Any = SUBTREE
                ) -> list[dict[str, Any]]:
        try:
            ok = conn.search(base, flt, search_scope=scope, attributes=attributes, size_limit=0,
                             time_limit=int(self.config.timeout_seconds) or 1)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"the directory {self.name!r} stopped answering: {_reason(exc)}") from None
        if not ok and conn.result.get("description") not in ("success", "noSuchObject", "sizeLimitExceeded"):
            raise DirectoryRefused(f"the directory {self.name!r} refused a search under {base!r}: "
                                   f"{conn.result.get('description')} {conn.result.get('message') or ''}".strip())
        return [e for e in (conn.response or []) if e.get("type") == "searchResEntry"]

    def _find(self, conn: Connection, login: str, trace: Trace | None) -> dict[str, Any] | None:
        c = self.config
        attributes = [c.email_attribute, c.name_attribute, c.subject_attribute, "memberOf"]
        entries = self._search(conn, c.user_base, self._filter(login), attributes)
        if trace:
            trace.log_step(len(entries) == 1, "find user",
                      f"{len(entries)} entries match {self._filter(login)} under {c.user_base}"
                      + (f": {entries[0]['dn']}" if len(entries) == 1 else ""))
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("directory %s: %d entries match one login; refusing", self.name, len(entries))
            return None
        return entries[0]

    def _groups(self, conn: Connection, entry: dict[str, Any]) -> list[str]:
        c = self.config
        dn = entry["dn"]
        if c.directory == "active_directory" and c.nested:
            base = c.group_base or _naming_context(c.user_base)
            found = self._search(conn, base, f"(member:{IN_CHAIN}:={escape_filter_chars(dn)})", ["cn"])
            return [e["dn"] for e in found]
        if c.groups == "member_of":
            direct = [str(g) for g in entry.get("attributes", {}).get("memberOf", []) or []]
        else:
            direct = self._groups_naming(conn, [dn])
        if not c.nested:
            return direct
        return self._walk_nesting(conn, direct)

    def _groups_naming(self, conn: Connection, members: Iterable[str]) -> list[str]:
        """Groups under group_base with any of these DNs as a member."""
        c = self.config
        assert c.group_base is not None
        parts = [c.group_filter.format(user_dn=escape_filter_chars(m)) for m in members]
        if not parts:
            return []
        flt = parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"
        return [e["dn"] for e in self._search(conn, c.group_base, flt, ["cn"])]

    def _walk_nesting(self, conn: Connection, direct: list[str]) -> list[str]:
        seen = {g.lower(): g for g in direct}
        frontier = list(direct)
        for _ in range(self.config.max_nesting):
            if not frontier:
                break
            if self.config.groups == "group_search":
                parents = self._groups_naming(conn, frontier)
            else:  # each group's own memberOf
                parents = []
                for group in frontier:
                    for e in self._search(conn, group, "(objectClass=*)", ["memberOf"], scope=BASE):
                        parents += [str(g) for g in e.get("attributes", {}).get("memberOf", []) or []]
            frontier = [p for p in parents if p.lower() not in seen]
            seen.update({p.lower(): p for p in frontier})
        return list(seen.values())

    def _user(self, conn: Connection, entry: dict[str, Any], trace: Trace | None) -> DirectoryUser:
        c = self.config
        attributes = entry.get("attributes", {})
        groups = sorted(set(self._groups(conn, entry)), key=str.lower)
        if trace:
            trace.log_step(True, "groups", f"member of {len(groups)} group(s)"
                      + (": " + ", ".join(_rdn_value(g) for g in groups) if groups else ""))
        email = _first(attributes, c.email_attribute)
        name = _first(attributes, c.name_attribute)
        return DirectoryUser(dn=entry["dn"], subject=_subject(entry, c.subject_attribute),
                             email=str(email) if email else None, display_name=str(name) if name else None,
                             groups=tuple(groups), group_names=tuple(_rdn_value(g) for g in groups))

    # ---- what callers use ---------------------------------------------------------------------------

    def authenticate(self, login: str, password: str, trace: Trace | None = None) -> DirectoryUser | None:
        """The person, when this password binds as them; None for an unknown person or a wrong password.

        Raises DirectoryUnavailable when no URL answers, DirectoryRefused on a settings problem."""
        if not password:
            return None
        if self.config.bind == "direct":
            return self._authenticate_direct(login, password, trace)
        conn = self._service(trace)
        try:
            entry = self._find(conn, login, trace)
            if entry is None:
                return None
            user_conn, _ = self.connect()
            try:
                ok = self._bind(user_conn, entry["dn"], password)
            finally:
                _close(user_conn)
            if trace:
                trace.log_step(ok, "password", "the password is correct" if ok else "the password is not correct")
            if not ok:
                return None
            return self._user(conn, entry, trace)
        finally:
            _close(conn)

    def _authenticate_direct(self, login: str, password: str, trace: Trace | None) -> DirectoryUser | None:
        c = self.config
        assert c.user_dn_template is not None
        username = login.strip().split("@", 1)[0]
        dn = c.user_dn_template.format(username=escape_rdn(username) if "=" in c.user_dn_template else username,
                                       email=login.strip())
        conn, _ = self.connect(trace)
        try:
            ok = self._bind(conn, dn, password)
            if trace:
                trace.log_step(ok, "user bind", f"signed in as {dn}" if ok else f"{dn} could not sign in")
            if not ok:
                return None
            entry = self._find(conn, login, trace)
            return self._user(conn, entry, trace) if entry is not None else None
        finally:
            _close(conn)

    def lookup(self, login: str, trace: Trace | None = None) -> DirectoryUser | None:
        """Find a person with their groups through the service account (the provider test)."""
        conn = self._service(trace)
        try:
            entry = self._find(conn, login, trace)
            return self._user(conn, entry, trace) if entry is not None else None
        finally:
            _close(conn)


def _naming_context(dn: str) -> str:
    parts = [p for p in dn.split(",") if p.strip().lower().startswith("dc=")]
    return ",".join(parts) or dn


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


def _close(conn: Connection) -> None:
    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass
