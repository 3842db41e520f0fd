"""SAML 2.0 service provider (pysaml2 with xmlsec1): our SP metadata, the authentication
request (HTTP-Redirect, or HTTP-POST when the IdP offers only that), and the checked response
(HTTP-POST to the assertion consumer service).

pysaml2 checks the XML signature against the IdP's metadata keys, that the assertion is signed
(always required here), its audience (our entity id), recipient/destination (our ACS URL),
validity times and that it answers our request (InResponseTo). Here on top: the signing keys
offered to it are only those whose certificate is valid today (a key past its date signs
nothing), the issuer is the configured IdP, and the caller stores the assertion id until it
expires so a replayed assertion is refused. Every refusal names its cause with its own code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from factoryos.sso.oidc_errors import OidcError
from factoryos.sso.saml_config import SamlConfig
from factoryos.sso.saml_metadata import IdpMetadata, MetadataInvalid, with_certificates
from factoryos.sso.saml_models import PREFIX as PREFIX  # the routes mount here
from factoryos.sso.saml_models import sp_urls

if TYPE_CHECKING:
    from saml2.client import Saml2Client  # type: ignore[import-untyped]

# pysaml2 is imported where it is used: building its schema validators costs about half a second,
# which every server process and CLI would pay at start for a sign-in most installations never use.

log = logging.getLogger(__name__)

REPLAY_FLOOR = timedelta(days=1)  # an assertion without an end time is remembered this long


class SamlRefused(OidcError):
    """A SAML response (or the provider's setup) that cannot sign anyone in; names the provider."""

    code = "saml_response_invalid"
    status = 401
    title = "Single sign-on refused"


def _refused(name: str, code: str, detail: str, status: int = 401) -> SamlRefused:
    return SamlRefused(name, detail, code=code, status=status)


@dataclass(frozen=True)
class ServiceProvider:
    """One provider as our SP: its settings, and the URLs the IdP knows us by."""

    name: str
    config: SamlConfig
    entity_id: str
    acs_url: str

    @classmethod
    def of(cls, name: str, config: dict[str, Any], *, base_url: str, company_id: Any,
           provider_id: Any) -> ServiceProvider:
        cfg = SamlConfig.model_validate(config)
        urls = sp_urls(cfg.sp_base_url or base_url, company_id, provider_id)
        return cls(name=name, config=cfg, entity_id=urls.entity_id, acs_url=urls.acs_url)


@dataclass(frozen=True)
class Assertion:
    """Who the IdP vouches for, once every check held."""

    issuer: str
    assertion_id: str
    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...]
    expires_at: datetime  # keep the id until then (replay)
    authn_instant: datetime | None  # when the person last proved themselves at the IdP


def idp_metadata(sp: ServiceProvider) -> IdpMetadata:
    try:
        return sp.config.metadata()
    except MetadataInvalid as exc:
        raise _refused(sp.name, "saml_metadata_invalid", f"the identity provider's metadata is not usable: {exc}",
                       status=502) from None


def _client(sp: ServiceProvider, meta: IdpMetadata, *, now: datetime | None = None) -> Saml2Client:
    from saml2 import BINDING_HTTP_POST  # type: ignore[import-untyped]
    from saml2.client import Saml2Client
    from saml2.config import SPConfig  # type: ignore[import-untyped]
    from saml2.saml import NAMEID_FORMAT_PERSISTENT  # type: ignore[import-untyped]

    valid = meta.valid_certs(now)
    if not valid:
        last = max(c.not_after for c in meta.signing_certs)
        raise _refused(sp.name, "saml_idp_certificate_expired",
                       f"the identity provider's signing certificate expired on {last:%Y-%m-%d}: import its new "
                       "metadata")
    conf = SPConfig()
    conf.load({
        "entityid": sp.entity_id,
        "service": {"sp": {
            "name": "FactoryOS",
            "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
            "want_assertions_signed": True,  # not configurable: an unsigned assertion proves nothing
            "want_response_signed": False,
            "authn_requests_signed": False,
            "allow_unsolicited": False,
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            "name_id_format_allow_create": True,
        }},
        "metadata": {"inline": [with_certificates(meta, valid)]},
        "accepted_time_diff": sp.config.clock_skew_seconds,
        "allow_unknown_attributes": True,
    })
    return Saml2Client(config=conf)


def sp_metadata(sp: ServiceProvider) -> str:
    """Our SP metadata document for the IdP (entity id, ACS URL, signed assertions wanted)."""
    from saml2 import BINDING_HTTP_POST
    from saml2.config import SPConfig
    from saml2.metadata import entity_descriptor  # type: ignore[import-untyped]
    from saml2.saml import NAMEID_FORMAT_PERSISTENT

    conf = SPConfig()
    conf.load({
        "entityid": sp.entity_id,
        "service": {"sp": {
            "name": "FactoryOS",
            "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
            "want_assertions_signed": True,
            "authn_requests_signed": False,
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
        }},
    })
    return str(entity_descriptor(conf))


@dataclass(frozen=True)
class Request:
    request_id: str
    url: str | None  # HTTP-Redirect: send the browser here
    form_html: str | None  # HTTP-POST: an auto-submitting form to answer with


def authn_request(sp: ServiceProvider, *, relay_state: str, force_authn: bool = False) -> Request:
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

    meta = idp_metadata(sp)
    client = _client(sp, meta)
    binding = BINDING_HTTP_REDIRECT if BINDING_HTTP_REDIRECT in meta.sso_urls else BINDING_HTTP_POST
    kwargs: dict[str, Any] = {"force_authn": "true"} if (force_authn or sp.config.force_authn) else {}
    request_id, info = client.prepare_for_authenticate(entityid=meta.entity_id, relay_state=relay_state,
                                                       binding=binding, **kwargs)
    if binding == BINDING_HTTP_REDIRECT:
        location = dict(info["headers"]).get("Location")
        return Request(request_id=str(request_id), url=str(location), form_html=None)
    return Request(request_id=str(request_id), url=None, form_html=str(info["data"]))


def _attributes(assertion: Any) -> dict[str, list[str]]:
    """Attribute values by name and by friendly name (an IdP may send either)."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [str(v.text).strip() for v in attribute.attribute_value or [] if v.text and str(v.text).strip()]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(str(key), []).extend(values)
    return found


def _first(attrs: dict[str, list[str]], name: str) -> str | None:
    values = attrs.get(name)
    return values[0] if values else None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def _classify(name: str, exc: Exception) -> SamlRefused:
    from saml2.response import (  # type: ignore[import-untyped]
        IncorrectlySigned,
        StatusError,
        UnsolicitedResponse,
        VerificationError,
    )
    from saml2.sigver import SigverError  # type: ignore[import-untyped]
    from saml2.validate import ResponseLifetimeExceed, ToEarly  # type: ignore[import-untyped]

    text = str(exc)
    if isinstance(exc, (SigverError, IncorrectlySigned)) or "Signature" in text or "signature" in text:
        return _refused(name, "saml_signature_invalid", "the assertion is not signed by the identity provider's "
                                                        "key (unsigned, or signed by another key)")
    if isinstance(exc, (ResponseLifetimeExceed, ToEarly)):
        return _refused(name, "saml_assertion_expired", "the assertion is outside its validity time (expired, "
                                                        "or the clocks differ): sign in again")
    if "AudienceRestrictions" in text or "recipient" in text.lower():
        return _refused(name, "saml_wrong_audience", "the assertion is meant for another service, not this "
                                                     "FactoryOS provider")
    if isinstance(exc, UnsolicitedResponse):
        return _refused(name, "saml_wrong_request", "the answer does not belong to this sign-in: start it again")
    if isinstance(exc, StatusError):
        return _refused(name, "sso_access_denied", f"the identity provider did not sign the person in ({text})",
                        status=403)
    if isinstance(exc, VerificationError):
        return _refused(name, "saml_response_invalid", f"the answer fails a check ({text})")
    return _refused(name, "saml_response_invalid", "the answer is not a valid SAML response")


def consume(sp: ServiceProvider, saml_response: str, *, request_id: str, now: datetime | None = None) -> Assertion:
    """The checked assertion of a base64 `SAMLResponse` answering `request_id`, or SamlRefused."""
    from saml2 import BINDING_HTTP_POST

    meta = idp_metadata(sp)
    client = _client(sp, meta, now=now)
    try:
        response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                       outstanding={request_id: "/"})
    except Exception as exc:  # noqa: BLE001 - pysaml2 raises plain Exception for some checks
        log.info("SAML response refused for %s: %s: %s", sp.name, type(exc).__name__, exc)
        raise _classify(sp.name, exc) from None
    if response is None:
        # pysaml2 answers None for a response addressed (Destination) to another service.
        raise _refused(sp.name, "saml_wrong_audience", "the answer is addressed to another service, not this "
                                                       "FactoryOS provider")
    assertion = response.assertion
    issuer = response.issuer() or ""
    if issuer and issuer != meta.entity_id:
        raise _refused(sp.name, "saml_wrong_issuer", f"the answer comes from {issuer}, not {meta.entity_id}")
    attrs = _attributes(assertion)
    cfg = sp.config
    name_id = assertion.subject.name_id.text.strip() if assertion.subject and assertion.subject.name_id else ""
    subject = (attrs.get(cfg.subject_attribute) or [""])[0] if cfg.subject_attribute else name_id
    if not subject:
        raise _refused(sp.name, "saml_response_invalid", "the assertion names nobody (no NameID or subject attribute)")
    email = name_id if cfg.email_attribute == "NameID" else _first(attrs, cfg.email_attribute)
    ends = [_time(assertion.conditions.not_on_or_after) if assertion.conditions else None]
    for confirmation in assertion.subject.subject_confirmation or []:
        data = confirmation.subject_confirmation_data
        ends.append(_time(data.not_on_or_after) if data is not None else None)
    current = now or datetime.now(timezone.utc)
    known = [e for e in ends if e is not None]
    expires = (max(known) + timedelta(seconds=cfg.clock_skew_seconds)) if known else current + REPLAY_FLOOR
    instants = [_time(s.authn_instant) for s in assertion.authn_statement or []]
    return Assertion(
        issuer=issuer or meta.entity_id, assertion_id=str(assertion.id), subject=subject, email=email,
        name=_first(attrs, cfg.name_attribute), groups=tuple(attrs.get(cfg.groups_attribute) or ()),
        expires_at=expires, authn_instant=max((i for i in instants if i), default=None),
    )
