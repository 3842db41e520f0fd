"""Identity tests use the shared sign-up helpers (tests/accounts.py) and the root fixtures."""

from tests.accounts import (  # noqa: F401  (re-exported for the identity tests)
    FAST,
    PASSWORD,
    Session,
    accept,
    bearer,
    invite,
    join,
    login,
    new_company,
    new_email,
    owner_body,
    register,
    session_of,
)
