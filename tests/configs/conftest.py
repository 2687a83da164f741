"""Fixtures of the config tests: the API clients per access level (from ``tests/api``)."""

from tests.api.conftest import api  # noqa: F401
