"""What a signing request carries (`signature` in its body) and what a signature shows."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

Meaning = Literal["authored", "reviewed", "approved", "verified", "responsible"]
MEANINGS: tuple[str, ...] = ("authored", "reviewed", "approved", "verified", "responsible")


class SignatureIn(BaseModel):
    """The signer's own credentials entered again at the moment of signing, and what the signature means."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(None, min_length=1, max_length=1024,
                                 description="The signer's password, entered again (or `reauth`).")
    reauth: str | None = Field(None, min_length=20, max_length=4000, description=(
        "For people who sign in only through OIDC or SAML: the handle of a confirmed re-authentication at "
        "their identity provider (POST /api/v1/auth/sso/reauth), instead of a password."))
    totp: str | None = Field(None, max_length=20,
                             description="The current code of the signer's authenticator app, when enrolled.")
    meaning: Meaning = Field(..., description="What the signature means: authored, reviewed, approved, verified "
                                              "or responsible.")
    reason: str | None = Field(None, max_length=500, description="Why, when it needs saying.")

    @model_validator(mode="after")
    def _one_proof(self) -> SignatureIn:
        if not self.password and not self.reauth:
            raise ValueError("give your password (or confirm at your identity provider: reauth)")
        return self


class SignatureOut(BaseModel):
    id: UUID
    record_type: str = Field(description="What kind of record was signed (e.g. nonconformance, capa.root_cause).")
    record_id: UUID
    signer_id: UUID
    signer_name: str = Field(description="The signer's name as it was at signing.")
    signer_email: str
    meaning: Meaning
    reason: str | None
    signed_at: datetime = Field(description="When, with its zone (UTC).")
    content_hash: str = Field(description="SHA-256 of the record's canonical JSON content as signed.")
    method: str = Field(description="How the signer re-authenticated: password, directory (their LDAP "
                        "password), each +totp when enrolled; sso:oidc or sso:saml (a fresh sign-in at their "
                        "identity provider).")
    valid: bool = Field(description="False once the record's content changed after signing.")
