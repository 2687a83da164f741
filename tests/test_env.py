import pytest
from django.core.exceptions import ImproperlyConfigured

from curation.env import channel_layers_config, database_config, env_bool, env_int, env_paths


def test_sqlite_in_wal_mode_by_default(tmp_path):
    config = database_config(None, tmp_path)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "curation.sqlite3")
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_postgres_url_is_parsed(tmp_path):
    config = database_config("postgres://bob:secret@db.internal:5433/curation", tmp_path)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 5433, "curation")
    assert (config["USER"], config["PASSWORD"]) == ("bob", "secret")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/x", "scheme 'mysql'"),
        ("garbage", "scheme ''"),
        ("postgres://postgres@localhost:5432", "names no database"),
        ("postgres://postgres@localhost:notaport/db", "could not be parsed"),
    ],
)
def test_garbage_database_urls_are_rejected_clearly(tmp_path, url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_config(url, tmp_path)


def test_in_memory_channel_layer_by_default():
    assert channel_layers_config(None)["default"]["BACKEND"].endswith("InMemoryChannelLayer")


def test_redis_url_selects_channels_redis():
    config = channel_layers_config("redis://127.0.0.1:6379/2")["default"]
    assert config["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert config["CONFIG"]["hosts"] == ["redis://127.0.0.1:6379/2"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://localhost:6379", "scheme 'http'"),
        ("redis://localhost:port/0", "invalid port"),
        ("redis:///0", "names no host"),
        ("redis://localhost:6379/zero", "must be a number"),
    ],
)
def test_garbage_redis_urls_are_rejected_clearly(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        channel_layers_config(url)


def test_booleans_are_strict():
    assert env_bool("X", False, {"X": "yes"}) is True
    assert env_bool("X", True, {"X": "0"}) is False
    assert env_bool("X", True, {}) is True
    with pytest.raises(ImproperlyConfigured, match="X='maybe' is not a boolean"):
        env_bool("X", False, {"X": "maybe"})


def test_integers_are_strict():
    assert env_int("N", 3, {"N": "12"}) == 12
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 3, {"N": "twelve"})


def test_import_roots_must_be_absolute(tmp_path):
    assert env_paths("R", {"R": f"{tmp_path}:{tmp_path}/sub"}) == [
        tmp_path.resolve(),
        (tmp_path / "sub").resolve(),
    ]
    with pytest.raises(ImproperlyConfigured, match="must be an absolute path"):
        env_paths("R", {"R": "relative/dir"})


def _load_settings(monkeypatch, tmp_path, **env):
    """Import curation.settings afresh in a subprocess-like way with the given environment."""
    import subprocess
    import sys

    base = {"PATH": "/usr/bin:/bin", "CURATION_VAR_DIR": str(tmp_path)}
    code = (
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','curation.settings');"
        "import django; from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_switch_on_environment(monkeypatch, tmp_path):
    result = _load_settings(
        monkeypatch,
        tmp_path,
        SECRET_KEY="k",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "channels_redis.core.RedisChannelLayer",
    ]


def test_team_mode_requires_a_secret_key_when_debug_is_off(monkeypatch, tmp_path):
    result = _load_settings(monkeypatch, tmp_path, DATABASE_URL="postgres://u@h:5432/db")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off in team mode" in result.stderr


def test_embedded_mode_generates_a_private_key_once(monkeypatch, tmp_path):
    assert _load_settings(monkeypatch, tmp_path).returncode == 0
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key.strip()) > 40
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert _load_settings(monkeypatch, tmp_path).returncode == 0
    assert key_file.read_text() == key


def test_settings_reject_a_garbage_database_url(monkeypatch, tmp_path):
    result = _load_settings(monkeypatch, tmp_path, SECRET_KEY="k", DATABASE_URL="oracle://x/y")
    assert result.returncode != 0
    assert "DATABASE_URL has scheme 'oracle'" in result.stderr
