"""A real slapd for the SSO tests (one per session; each test adds people of its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sso.oidc_support import oidc_op, plant  # noqa: F401  (the OpenID Provider's fixtures, SB)
from tests.sso.slapd import Slapd, available, running_slapd
from tests.tui.conftest import api, app_factory  # noqa: F401  (the TUI tests' fixtures)


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    if not available():
        pytest.skip("OpenLDAP's slapd is not installed (CI: apt-get install slapd ldap-utils)")
    with running_slapd() as server:
        yield server
