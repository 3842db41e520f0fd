"""Refusals of a signature: wrong credentials (counted), or the wrong person."""

from __future__ import annotations

from factoryos.errors import PermissionDenied, ValidationFailed


class SignatureInvalid(PermissionDenied):
    code = "signature_invalid"
    title = "Signature refused"


def totp_required() -> ValidationFailed:
    return ValidationFailed("enter the 6-digit code from your authenticator app to sign",
                            code="signature_totp_required", field="signature.totp")


def same_person() -> PermissionDenied:
    return PermissionDenied("this record needs a second person's signature: you may not sign your own",
                            code="signature_same_person", field="signature")
