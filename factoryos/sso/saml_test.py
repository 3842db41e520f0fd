"""The admin's Test button for a SAML provider: the metadata read and its certificates' dates,
said in words (fetched again from its URL when one is set)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from factoryos.sso.models import ProviderTestOut, ProviderTestStep
from factoryos.sso.saml_config import SamlConfig, fetch_metadata
from factoryos.sso.saml_metadata import REDIRECT, MetadataInvalid, parse

WARN_DAYS = 30


def _dates(not_before: datetime, not_after: datetime, now: datetime) -> tuple[bool, str]:
    if now < not_before:
        return False, f"certificate not valid before {not_before:%Y-%m-%d}"
    if now > not_after:
        return False, (f"certificate expired on {not_after:%Y-%m-%d}: sign-ins are refused until new metadata is "
                       "imported")
    days = (not_after - now).days
    soon = f" — only {days} day(s) left: ask for the new certificate" if days < WARN_DAYS else ""
    return True, f"certificate valid until {not_after:%Y-%m-%d} ({days} days){soon}"


def test_provider(config: dict[str, Any], secret: str | None, name: str = "provider") -> ProviderTestOut:
    del secret  # SAML uses none
    steps: list[ProviderTestStep] = []
    try:
        cfg = SamlConfig.model_validate(config)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return ProviderTestOut(ok=False, summary=f"The settings are incomplete: {message}", steps=[])
    xml = cfg.idp_metadata_xml or ""
    try:
        if cfg.idp_metadata_url:
            xml = fetch_metadata(cfg.idp_metadata_url, ca_pem=cfg.ca_bundle, timeout=cfg.timeout_seconds)
            steps.append(ProviderTestStep(ok=True, step="metadata", message=f"Fetched {cfg.idp_metadata_url}."))
        meta = parse(xml)
    except MetadataInvalid as exc:
        steps.append(ProviderTestStep(ok=False, step="metadata", message=str(exc)))
        return ProviderTestOut(ok=False, summary=f"{name} is not usable: {exc}", steps=steps)
    binding = "HTTP-Redirect" if REDIRECT in meta.sso_urls else "HTTP-POST"
    url = meta.sso_urls.get(REDIRECT) or next(iter(meta.sso_urls.values()))
    steps.append(ProviderTestStep(ok=True, step="identity provider",
                                  message=f"Entity {meta.entity_id}; sign-in page {url} ({binding})."))
    now = datetime.now(timezone.utc)
    usable = 0
    for cert in meta.signing_certs:
        ok, words = _dates(cert.not_before, cert.not_after, now)
        usable += ok
        steps.append(ProviderTestStep(ok=ok, step="signing certificate", message=f"{cert.subject}: {words}."))
    if cfg.idp_metadata_url and xml != (cfg.idp_metadata_xml or ""):
        steps.append(ProviderTestStep(ok=True, step="metadata",
                                      message="The published metadata changed since it was saved: save the provider "
                                              "again to import it."))
    if not usable:
        return ProviderTestOut(ok=False, summary=f"{name}: no signing certificate is valid today, so every sign-in "
                                                 "would be refused; import the provider's new metadata.", steps=steps)
    return ProviderTestOut(ok=True, summary=f"{name}: metadata read; {usable} signing certificate(s) valid today.",
                           steps=steps)
