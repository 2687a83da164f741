"""The API client fixture of the API tests, for the end-to-end checks here."""

from tests.api.conftest import api  # noqa: F401
