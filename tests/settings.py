"""Test settings: the real settings, a test SECRET_KEY, temp storage, a fast password hasher.

With ``CI=true`` the suite must run against the machine's PostgreSQL and Redis: missing
``DATABASE_URL`` / ``REDIS_URL`` stop it instead of silently falling back to SQLite.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("CURATION_VAR_DIR", tempfile.mkdtemp(prefix="curation-tests-"))

if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        raise RuntimeError(
            f"CI=true but {' and '.join(missing)} not set: CI runs the suite against the real "
            "PostgreSQL and Redis (see .ci/run)."
        )

from curation.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CURATION_INPROCESS_WORKER = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# Connections opened by consumer threads close after each use, so the test database can be dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
