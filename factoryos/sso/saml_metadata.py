"""Reading a SAML identity provider's metadata: its entity id, sign-in endpoints and signing
certificates with their dates. Parsed without network access or entity expansion."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from lxml import etree  # type: ignore[import-untyped]

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


class MetadataInvalid(ValueError):
    """The document is not usable IdP metadata; the message says why, in words."""


@dataclass(frozen=True)
class Certificate:
    subject: str
    not_before: datetime
    not_after: datetime
    der: bytes

    def valid_at(self, when: datetime) -> bool:
        return self.not_before <= when <= self.not_after


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_urls: dict[str, str]  # binding → URL
    signing_certs: tuple[Certificate, ...]
    root: etree._Element

    def valid_certs(self, when: datetime | None = None) -> tuple[Certificate, ...]:
        at = when or datetime.now(timezone.utc)
        return tuple(c for c in self.signing_certs if c.valid_at(at))


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def parse(xml: str | bytes) -> IdpMetadata:
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MetadataInvalid(f"the metadata is not XML ({exc.msg})") from None
    entity = root if root.tag == f"{{{MD}}}EntityDescriptor" else None
    if entity is None and root.tag == f"{{{MD}}}EntitiesDescriptor":
        found = [e for e in root.iter(f"{{{MD}}}EntityDescriptor") if e.find(f"{{{MD}}}IDPSSODescriptor") is not None]
        if len(found) != 1:
            raise MetadataInvalid(f"the metadata describes {len(found)} identity providers: give the one to use")
        entity = found[0]
    if entity is None:
        raise MetadataInvalid("the document is not SAML metadata (no EntityDescriptor)")
    idp = entity.find(f"{{{MD}}}IDPSSODescriptor")
    if idp is None or not entity.get("entityID"):
        raise MetadataInvalid("the metadata describes no identity provider (IDPSSODescriptor with an entityID)")
    urls = {s.get("Binding", ""): s.get("Location", "") for s in idp.findall(f"{{{MD}}}SingleSignOnService")
            if s.get("Location")}
    if REDIRECT not in urls and POST not in urls:
        raise MetadataInvalid("the identity provider offers no sign-in endpoint for the HTTP-Redirect or "
                              "HTTP-POST binding")
    certs: list[Certificate] = []
    for key in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use") not in (None, "", "signing"):
            continue
        for node in key.iter(f"{{{DS}}}X509Certificate"):
            certs.append(_certificate(node.text or ""))
    if not certs:
        raise MetadataInvalid("the metadata holds no signing certificate: assertions could not be checked")
    # Keep the parsed tree from the one descriptor only (a standalone document for the SP library).
    return IdpMetadata(entity_id=str(entity.get("entityID")), sso_urls=urls, signing_certs=tuple(certs), root=entity)


def _certificate(text: str) -> Certificate:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise MetadataInvalid("a signing certificate in the metadata cannot be read") from None
    return Certificate(subject=cert.subject.rfc4514_string() or "(no subject)",
                       not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, der=der)


def with_certificates(meta: IdpMetadata, keep: tuple[Certificate, ...]) -> str:
    """The provider's descriptor with only the `keep` signing keys: the SP library then accepts
    signatures by those keys alone (an expired key's signature fails like a wrong one)."""
    copy = etree.fromstring(etree.tostring(meta.root), _PARSER)
    wanted = {c.der for c in keep}
    idp = copy.find(f"{{{MD}}}IDPSSODescriptor")
    assert idp is not None
    for key in idp.findall(f"{{{MD}}}KeyDescriptor"):
        if key.get("use") == "encryption":
            continue
        ders = set()
        for node in key.iter(f"{{{DS}}}X509Certificate"):
            try:
                ders.add(base64.b64decode("".join((node.text or "").split())))
            except binascii.Error:
                pass
        if not ders & wanted:
            idp.remove(key)
    return etree.tostring(copy, encoding="unicode")
