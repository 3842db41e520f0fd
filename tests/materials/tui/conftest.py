"""The terminal's fixtures (a plant, the app against the session server) for the materials Pilot tests."""

from tests.materials.conftest import api, owner, spec  # noqa: F401  (fixtures, used by name)
from tests.tui.conftest import app_factory, world  # noqa: F401
