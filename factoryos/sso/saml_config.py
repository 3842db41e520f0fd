"""The settings of a SAML 2.0 identity provider (its `config` JSON; SAML needs no secret).

The IdP's metadata is imported when the admin saves: pasted (or read from a file by the client)
into `idp_metadata_xml`, or fetched from `idp_metadata_url` at every save. Signed assertions are
always required: there is no setting to turn that off.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from factoryos.errors import ValidationFailed
from factoryos.sso.config_checks import http_url, pem_bundle
from factoryos.sso.saml_metadata import IdpMetadata, MetadataInvalid, parse

MAX_METADATA = 1_000_000


class SamlConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idp_metadata_url: str | None = Field(None, max_length=1000, description=(
        "Where the identity provider publishes its metadata (fetched again at every save), e.g. "
        "https://idp.plant.lan/realms/factory/protocol/saml/descriptor."))
    idp_metadata_xml: str | None = Field(None, max_length=MAX_METADATA, description=(
        "The metadata document itself (paste it, or the file's content); filled from the URL when one is given."))
    email_attribute: str = Field("email", max_length=200, description=(
        "Attribute (name or friendly name) holding the email, e.g. "
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress; 'NameID' uses the subject."))
    name_attribute: str = Field("name", max_length=200, description="Attribute holding the display name.")
    groups_attribute: str = Field("groups", max_length=200, description="Attribute holding the group names.")
    subject_attribute: str | None = Field(None, max_length=200, description=(
        "The attribute that identifies the person for good (e.g. objectGUID); unset: the NameID, which must "
        "then be persistent."))
    sp_base_url: str | None = Field(None, max_length=500, description=(
        "This server's public URL as browsers reach it (e.g. https://factoryos.plant.lan); unset: the URL of "
        "the request. It is part of the SP entity id and the ACS URL the identity provider knows."))
    force_authn: bool = Field(False, description="Ask the person to sign in again at every sign-in.")
    ca_bundle: str | None = Field(None, max_length=200_000,
                                  description="PEM certificates of the CA of an on-prem metadata URL.")
    clock_skew_seconds: int = Field(60, ge=0, le=600, description="Allowed clock difference for assertion times.")
    timeout_seconds: float = Field(10.0, gt=0, le=60)

    @field_validator("idp_metadata_url", "sp_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        value = http_url(value)
        return value.rstrip("/") if value else value

    @field_validator("ca_bundle")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return pem_bundle(value)

    @model_validator(mode="after")
    def _some_metadata(self) -> SamlConfig:
        if not self.idp_metadata_url and not (self.idp_metadata_xml or "").strip():
            raise ValueError("give the identity provider's metadata: its URL (idp_metadata_url) or the document "
                             "(idp_metadata_xml)")
        return self

    def metadata(self) -> IdpMetadata:
        """The stored metadata, parsed (MetadataInvalid when it is not usable)."""
        return parse(self.idp_metadata_xml or "")


def fetch_metadata(url: str, *, ca_pem: str | None, timeout: float) -> str:
    """The document at `url`; an unreachable URL or a non-XML answer raises MetadataInvalid."""
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    request = urllib.request.Request(url, headers={"Accept": "application/samlmetadata+xml, application/xml"})
    try:
        with urllib.request.urlopen(request, timeout=timeout,
                                    context=context if url.lower().startswith("https:") else None) as answer:
            body: bytes = answer.read(MAX_METADATA + 1)
    except urllib.error.HTTPError as exc:
        raise MetadataInvalid(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise MetadataInvalid(f"{url} cannot be reached ({getattr(exc, 'reason', exc)})") from None
    if len(body) > MAX_METADATA:
        raise MetadataInvalid(f"{url} answered more than 1 MB: not metadata")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise MetadataInvalid(f"{url} answered something that is not UTF-8 XML") from None


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Called by the registry when an admin saves a SAML provider: imports and checks the metadata
    (pydantic errors become 422; unusable metadata is a 422 naming its field)."""
    cfg = SamlConfig.model_validate(config)
    field = "config.idp_metadata_xml"
    try:
        if cfg.idp_metadata_url:
            field = "config.idp_metadata_url"
            cfg = cfg.model_copy(update={"idp_metadata_xml": fetch_metadata(
                cfg.idp_metadata_url, ca_pem=cfg.ca_bundle, timeout=cfg.timeout_seconds)})
        cfg.metadata()
    except MetadataInvalid as exc:
        raise ValidationFailed(f"{field}: {exc}", code="saml_metadata_invalid", field=field) from None
    return cfg.model_dump(mode="json")
