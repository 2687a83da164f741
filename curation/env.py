"""Typed, loud parsing of settings that come from environment variables.

Every function raises ``ImproperlyConfigured`` with one sentence naming the variable and what
it accepts, so a typo in a deployment fails at start-up instead of at the first request.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_paths(name: str, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """A list of absolute folders separated by the OS path separator (``:`` on Linux)."""
    raw = environ.get(name, "")
    paths = []
    for part in raw.split(os.pathsep):
        if not part.strip():
            continue
        path = Path(part.strip()).expanduser()
        if not path.is_absolute():
            raise ImproperlyConfigured(f"{name} entry {part!r} must be an absolute path.")
        paths.append(path.resolve())
    return paths


SQLITE_OPTIONS: dict[str, Any] = {
    # WAL: readers never block the writer; a busy timeout instead of an instant "database is
    # locked"; IMMEDIATE: a transaction takes the write lock when it begins, so two writers
    # queue on the timeout instead of failing on a read-to-write upgrade.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def database_config(
    url: str | None, var_dir: Path, *, pool_size: int = 10, pool_timeout: float = 30.0
) -> dict[str, Any]:
    """SQLite in WAL mode by default; PostgreSQL when ``DATABASE_URL`` names one.

    PostgreSQL connections come from a bounded pool of at most ``pool_size`` per process
    (psycopg's pool through Django's ``pool`` option): a request borrows one and returns it when
    it ends, so connections never grow with the server's request threads. ``pool_size=0``
    opens one connection per request instead (``CONN_MAX_AGE=0``).
    """
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(var_dir / "curation.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL has scheme {scheme!r}: use postgres://user:password@host:port/name "
            "or sqlite:////absolute/path.sqlite3."
        )
    if pool_size < 0:
        raise ImproperlyConfigured(
            f"CURATION_DB_POOL_SIZE={pool_size} must be 0 (no pool) or more."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}.") from None
    if config["ENGINE"].endswith("sqlite3"):
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    if config["ENGINE"].endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(
                "DATABASE_URL names no database: add it after the host, e.g. "
                "postgres://postgres@127.0.0.1:5432/curation."
            )
        config["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection before lending it
        if pool_size:
            options = config.setdefault("OPTIONS", {})
            options["pool"] = {
                "min_size": 1,
                "max_size": pool_size,
                "timeout": pool_timeout,  # seconds a request waits for a free connection
                "max_idle": 300,
            }
    return config


def channel_layers_config(url: str | None) -> dict[str, Any]:
    """In-memory channel layer by default; channels-redis when ``REDIS_URL`` is set."""
    if not url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(
            f"REDIS_URL has scheme {parts.scheme!r}: use redis://host:port/db or rediss://…"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"REDIS_URL {url!r} has an invalid port.") from None
    if not parts.hostname:
        raise ImproperlyConfigured(f"REDIS_URL {url!r} names no host: use redis://host:port/db.")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL database {db!r} must be a number, e.g. /0.")
    del port
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": "curation"},
        }
    }


def local_secret_key(path: Path) -> str:
    """The key stored in ``path``, created once (random, readable by the owner only)."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50) + "\n")
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it to have a new key generated.")
    return key
