"""Tunable identity policy: token lifetimes, lockout, password hashing cost.

Read from `FACTORYOS_*` environment variables. The argon2 defaults are RFC 9106's
low-memory profile; only test suites lower them.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IdentityPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACTORYOS_", extra="ignore", frozen=True)

    access_token_minutes: int = Field(15, ge=1, le=60, description="Lifetime of an access token.")
    refresh_token_days: int = Field(14, ge=1, le=90, description="Absolute lifetime of a login session.")
    invite_hours: int = Field(48, ge=1, le=720, description="How long an invite code stays valid.")
    lockout_threshold: int = Field(5, ge=1, le=100, description="Failed logins before an account locks.")
    lockout_minutes: int = Field(15, ge=1, le=1440, description="How long a lockout lasts.")
    lockout_address_threshold: int = Field(
        50, ge=1, le=10_000, description="Failed logins from one client address, any emails, before it locks.")
    registration_address_threshold: int = Field(
        20, ge=1, le=100_000,
        description="Registrations from one client address within the lockout window before it must wait.")
    password_min_length: int = Field(12, ge=8, le=128)
    password_min_score: int = Field(3, ge=0, le=4, description="Least zxcvbn score (0–4) a new password needs.")
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)
