"""The real app over HTTP, every JSON answer checked against the OpenAPI document."""

from tests.onboarding.conftest import api, owner, spec  # noqa: F401  (fixtures, used by name)
from tests.tui.conftest import app_factory, world  # noqa: F401  (the TUI's app and small plant)
