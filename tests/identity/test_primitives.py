"""Building blocks: permission bundles, invite codes, password hashing, tokens, TOTP at rest."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from factoryos.errors import Unauthorized, ValidationFailed
from factoryos.identity import codes, totp
from factoryos.identity.keys import DerivedKeys
from factoryos.identity.passwords import Passwords
from factoryos.identity.permissions import OWNER, PERMISSIONS, ROLES, effective_permissions
from factoryos.identity.policy import IdentityPolicy
from factoryos.identity.tokens import decode_token, issue_token
from tests.accounts import FAST

STAFF_FLAGS = {
    "orders.view",
    "orders.act",
    "customers.view",
    "customers.act",
    "assets.view",
    "assets.act",
    "invites.send",
    "permissions.manage",
}


# The modules' own permissions: materials, quality and maintenance.
MODULE_PERMISSIONS = {
    "inventory.view", "inventory.move", "inventory.adjust",
    "quality.inspect", "quality.manage", "quality.approve",
    "maintenance.view", "maintenance.request", "maintenance.workorder.trigger", "maintenance.manage",
}


def test_roles_are_bundles_and_the_owner_holds_everything() -> None:
    assert set(ROLES) == {"owner", "admin", "plant_manager", "supervisor", "estimator", "operator", "read_only"}
    assert STAFF_FLAGS | {
        "production.entry",
        "production.plan",
        "machines.manage",
        "reports.export",
        "audit.view",
        "admin.system",
    } | MODULE_PERMISSIONS == set(PERMISSIONS)
    assert ROLES[OWNER] == set(PERMISSIONS)
    for role, bundle in ROLES.items():
        assert bundle <= set(PERMISSIONS), role
    assert effective_permissions(OWNER, [], PERMISSIONS) == set(PERMISSIONS)


def test_effective_permissions_are_role_plus_grants_minus_denials() -> None:
    perms = effective_permissions("operator", ["reports.export", "made.up"], ["orders.view"])
    assert perms == (ROLES["operator"] | {"reports.export"}) - {"orders.view"}


def test_invite_codes_are_readable_and_unambiguous() -> None:
    seen = {codes.new_invite_code() for _ in range(300)}
    assert len(seen) == 300
    for code in seen:
        assert len(code) == 9 and code[4] == "-"
        assert not set(code.replace("-", "")) & set("01OIL")
    assert codes.normalize_invite_code(" k7mx 3qpd ") == "K7MX-3QPD"
    assert codes.normalize_invite_code("K7MX-3QP0") is None  # 0 is never issued


def test_production_password_hashing_is_argon2id_at_rfc9106_cost() -> None:
    policy = IdentityPolicy()
    assert (policy.argon2_time_cost, policy.argon2_memory_kib, policy.argon2_parallelism) == (3, 65536, 4)
    hashed = Passwords(FAST).hash("a long enough pass")
    assert hashed.startswith("$argon2id$")
    assert PasswordHasher().verify(hashed, "a long enough pass")


def test_password_rules_name_the_field() -> None:
    pw = Passwords(FAST)
    with pytest.raises(ValidationFailed) as exc:
        pw.check_rules("short", field="password")
    assert (exc.value.code, exc.value.field) == ("weak_password", "password")
    with pytest.raises(ValidationFailed):
        pw.check_rules("ann@example.com", email="Ann@example.com")
    assert not pw.verify(None, "anything at all")


def test_access_tokens_are_signed_and_expire() -> None:
    keys = DerivedKeys.from_secret("s" * 40)
    user, tenant, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, _ = issue_token(
        keys.token_signing, user_id=user, tenant_id=tenant, session_id=session, ttl=timedelta(minutes=15)
    )
    claims = decode_token(keys.token_signing, token)
    assert (claims.user_id, claims.tenant_id, claims.session_id, claims.kind) == (user, tenant, session, "access")
    other = DerivedKeys.from_secret("t" * 40)
    with pytest.raises(Unauthorized) as exc:
        decode_token(other.token_signing, token)
    assert exc.value.code == "invalid_token"
    old, _ = issue_token(
        keys.token_signing, user_id=user, tenant_id=tenant, session_id=session, ttl=timedelta(minutes=-5)
    )
    with pytest.raises(Unauthorized) as exc:
        decode_token(keys.token_signing, old)
    assert exc.value.code == "token_expired"


def test_totp_secret_round_trips_encrypted_and_codes_do_not_replay() -> None:
    keys = DerivedKeys.from_secret("k" * 40)
    secret = totp.new_secret()
    stored = totp.encrypt_secret(keys, secret)
    assert secret not in stored
    assert totp.decrypt_secret(keys, stored) == secret
    code = pyotp.TOTP(secret).now()
    step = totp.matching_step(secret, code, after_step=None)
    assert step is not None
    assert totp.matching_step(secret, code, after_step=step) is None
    assert totp.matching_step(secret, "12345", after_step=None) is None


def test_recovery_codes_are_matched_by_keyed_hash() -> None:
    keys = DerivedKeys.from_secret("k" * 40)
    issued = totp.new_recovery_codes()
    stored = [totp.hash_recovery_code(keys, c) for c in issued]
    assert len(set(issued)) == len(issued) == 10
    assert totp.find_recovery_code(keys, stored, issued[3].lower()) == stored[3]
    assert totp.find_recovery_code(keys, stored, "AAAAA-AAAAA") is None


def test_password_policy_follows_nist_800_63b() -> None:
    pw = Passwords(IdentityPolicy())
    refused = ["password12", "aaaaaaaaaaaa", "123456789012", " " * 14, "short words", "passwordpassword",
               "olga.owner@acme.example", "olgaowner2026"]
    for password in refused:
        with pytest.raises(ValidationFailed) as exc:
            pw.check_rules(password, email="olga.owner@acme.example", user_inputs=["Olga Owner"])
        assert (exc.value.code, exc.value.field) == ("weak_password", "password"), password
        assert len(str(exc.value)) > 30  # says why, and what would pass
    for password in ("correct horse battery", "tin roof rusted 7", "Pallet-jack Quarry 19"):
        pw.check_rules(password, email="olga.owner@acme.example")
