"""The real app over HTTP; `spec` checks answers against the OpenAPI document (contract test); the TUI
tests' `api` client and `app_factory`."""

from tests.onboarding.conftest import spec  # noqa: F401  (fixture, used by name)
from tests.tui.conftest import api, app_factory  # noqa: F401
