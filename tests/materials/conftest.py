"""The real app over HTTP, every JSON answer checked against the OpenAPI document: the same
fixtures as the onboarding tests (`spec`, `api`, `owner`)."""

from tests.onboarding.conftest import api, owner, spec  # noqa: F401  (fixtures, used by name)
