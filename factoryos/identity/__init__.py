"""Identity and access: accounts, companies' members, roles, invites, sessions, MFA.

Services take a SQLAlchemy connection whose transaction the caller owns (one request =
one transaction) and an `IdentityRuntime` (policy, password hasher, derived keys).
"""
