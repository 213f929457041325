"""Settings that would silently weaken a guarantee are refused at start, naming the setting and
the reason, all problems at once, with exit 2 and no traceback (issue 11, class 3)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from jwtwarden.cli import app as cli
from jwtwarden.server.settings import Settings, format_settings_errors

KEK = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "kek": KEK,
    "issuer": "https://auth.example.com",
}
REDIS = {"redis_url": "redis://127.0.0.1:6379/0"}


def _problems(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(**overrides)
    return format_settings_errors(info.value)


@pytest.mark.parametrize(
    ("overrides", "setting", "reason"),
    [
        # The review's example: logout held in one worker of four (14 of 20 still active).
        (
            {"denylist": "memory", "workers": 4, **REDIS},
            "JWTWARDEN_DENYLIST",
            "logout or revocation would hold in one worker only",
        ),
        (
            {"denylist": "memory", "workers": 2, **REDIS, **PRODUCTION},
            "JWTWARDEN_DENYLIST",
            "in one worker only",
        ),
        (
            {"denylist": "memory", **PRODUCTION},
            "JWTWARDEN_DENYLIST",
            "not shared with other instances",
        ),
        # The login rate limiter is in-process without Redis: N workers, N times the limit.
        ({"workers": 3}, "JWTWARDEN_WORKERS", "3 times them"),
        ({"workers": 2, "denylist": "database", **PRODUCTION}, "JWTWARDEN_WORKERS", "per process"),
        (
            {"database_url": "sqlite://", "workers": 2, **REDIS},
            "JWTWARDEN_DATABASE_URL",
            "in-memory SQLite",
        ),
        (
            {"database_url": "sqlite:///:memory:", **PRODUCTION},
            "JWTWARDEN_DATABASE_URL",
            "lost at exit",
        ),
        # The review's example: '*' lets the client choose its own address.
        ({"trusted_proxies": "*"}, "JWTWARDEN_TRUSTED_PROXIES", "any client sets its own"),
        ({"trusted_proxies": "127.0.0.1, *"}, "JWTWARDEN_TRUSTED_PROXIES", "'*'"),
        ({"trusted_proxies": "0.0.0.0/0"}, "JWTWARDEN_TRUSTED_PROXIES", "much of the Internet"),
        ({"trusted_proxies": "::/0"}, "JWTWARDEN_TRUSTED_PROXIES", "much of the Internet"),
        ({"trusted_proxies": "0.0.0.0/1"}, "JWTWARDEN_TRUSTED_PROXIES", "much of the Internet"),
        (
            {"trusted_proxies": "0.0.0.0/1,128.0.0.0/1"},
            "JWTWARDEN_TRUSTED_PROXIES",
            "'128.0.0.0/1' is so wide",
        ),
        ({"trusted_proxies": "4.0.0.0/6"}, "JWTWARDEN_TRUSTED_PROXIES", "much of the Internet"),
        ({"trusted_proxies": "8000::/1"}, "JWTWARDEN_TRUSTED_PROXIES", "much of the Internet"),
        # IPv6 ranges that embed every IPv4 address are as wide as 0.0.0.0/0.
        ({"trusted_proxies": "::ffff:0:0/96"}, "JWTWARDEN_TRUSTED_PROXIES", "is so wide"),
        ({"trusted_proxies": "64:ff9b::/96"}, "JWTWARDEN_TRUSTED_PROXIES", "is so wide"),
        ({"trusted_proxies": "2002::/16"}, "JWTWARDEN_TRUSTED_PROXIES", "is so wide"),
        ({"trusted_proxies": "proxy.local"}, "JWTWARDEN_TRUSTED_PROXIES", "not an IP address"),
        ({"trusted_proxies": " , "}, "JWTWARDEN_TRUSTED_PROXIES", "is empty"),
        # Credentialed CORS: a wildcard, the opaque null origin, plain http in production.
        ({"allowed_origins": "*"}, "JWTWARDEN_ALLOWED_ORIGINS", "each origin named"),
        ({"allowed_origins": "null"}, "JWTWARDEN_ALLOWED_ORIGINS", "each origin named"),
        (
            {"allowed_origins": "http://app.example.com", **PRODUCTION},
            "JWTWARDEN_ALLOWED_ORIGINS",
            "plain http",
        ),
        # Already refused before this change; kept in the table so the class stays whole.
        (
            {**PRODUCTION, "issuer": "http://auth.example.com"},
            "JWTWARDEN_ISSUER",
            "http issuer",
        ),
        ({"refresh_retry_window": 301}, "JWTWARDEN_REFRESH_RETRY_WINDOW", "less than or equal"),
        ({"access_token_ttl": 3600}, "JWTWARDEN_ACCESS_TOKEN_TTL", "less than or equal to 900"),
        (
            {"refresh_absolute_ttl": 400 * 86400},
            "JWTWARDEN_REFRESH_ABSOLUTE_TTL",
            "less than or equal",
        ),
        (
            {"refresh_idle_ttl": 40 * 86400},
            "JWTWARDEN_REFRESH_IDLE_TTL",
            "must not exceed refresh_absolute_ttl",
        ),
        ({"key_rotation_days": 400}, "JWTWARDEN_KEY_ROTATION_DAYS", "less than or equal"),
    ],
)
def test_should_refuse_a_setting_that_silently_weakens_a_guarantee(
    overrides: dict[str, Any], setting: str, reason: str
) -> None:
    problems = _problems(**overrides)
    assert any(
        line.strip().startswith(setting + ":") and reason in line for line in problems.splitlines()
    ), problems


@pytest.mark.parametrize(
    "overrides",
    [
        {"trusted_proxies": "127.0.0.1"},
        {"trusted_proxies": "10.0.0.0/8,192.168.0.0/16,fd00::/8"},
        # A CDN's published ranges (Cloudflare's widest): a /13 and a /29 stay allowed.
        {"trusted_proxies": "104.16.0.0/13,2a06:98c0::/29"},
        {"trusted_proxies": "::ffff:10.0.0.0/104"},
        {"workers": 4, **REDIS},
        {"workers": 4, "denylist": "database", **REDIS},
        {"denylist": "memory"},
        {"database_url": "sqlite://"},
        {"allowed_origins": "http://localhost:3000", **PRODUCTION},
        {"allowed_origins": "https://app.example.com", **PRODUCTION},
        {"denylist": "redis", "workers": 8, **REDIS, **PRODUCTION},
    ],
)
def test_should_accept_the_settings_that_keep_every_guarantee(overrides: dict[str, Any]) -> None:
    settings = Settings(**overrides)
    assert settings.workers == overrides.get("workers", 1)
    # The guarantees the refusals protect hold in every accepted combination.
    assert settings.workers == 1 or settings.effective_denylist != "memory"
    assert settings.workers == 1 or settings.redis_url


def test_should_default_to_the_database_denylist_outside_development() -> None:
    # An in-process denylist is not shared with another instance nor kept across a restart.
    assert Settings(**PRODUCTION).effective_denylist == "database"
    assert Settings().effective_denylist == "memory"


def test_should_list_every_problem_at_once_each_naming_its_setting() -> None:
    problems = _problems(
        denylist="memory",
        workers=4,
        trusted_proxies="*",
        metrics_token="short",
        refresh_idle_ttl=40 * 86400,
    )
    named = {line.strip().split(":", 1)[0] for line in problems.splitlines()}
    assert {
        "JWTWARDEN_DENYLIST",
        "JWTWARDEN_WORKERS",
        "JWTWARDEN_TRUSTED_PROXIES",
        "JWTWARDEN_METRICS_TOKEN",
        "JWTWARDEN_REFRESH_IDLE_TTL",
    } <= named, problems


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"JWTWARDEN_DENYLIST": "memory", "JWTWARDEN_WORKERS": "4"},
            ["JWTWARDEN_DENYLIST", "in one worker only", "JWTWARDEN_WORKERS"],
        ),
        ({"JWTWARDEN_TRUSTED_PROXIES": "*"}, ["JWTWARDEN_TRUSTED_PROXIES", "'*'"]),
        ({"JWTWARDEN_TRUSTED_PROXIES": "0.0.0.0/0"}, ["JWTWARDEN_TRUSTED_PROXIES", "Internet"]),
    ],
)
def test_should_exit_2_naming_the_setting_without_a_traceback_when_serve_is_misconfigured(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    busy_port: int,
    env: dict[str, str],
    expected: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(
        cli, ["serve", "--port", str(busy_port), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    for text in expected:
        assert text in result.output
    assert not (tmp_path / "d").exists()  # refused before anything is written
