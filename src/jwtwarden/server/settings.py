"""Server settings: ``JWTWARDEN_*`` environment variables and an optional TOML config file,
validated once at start with clear errors (configuration enters at the edge only).

Precedence: explicit arguments, then the environment, then the file named by
``JWTWARDEN_CONFIG`` (or ``--config``). Lists accept JSON (``["a","b"]``) or commas (``a,b``).

The embedded default needs nothing: ``environment=development``, SQLite in ``data_dir``,
development keys sealed under a generated KEK, the in-process denylist, and the issuer URL
``http://HOST:PORT``. Any other environment refuses to start without a KEK and an explicit
issuer, and refuses an ``http`` issuer on a non-loopback host. Combinations that would silently
drop a guarantee (an in-process denylist or rate limiter shared by several workers, a trusted
proxy list that takes in the Internet...) are refused in every environment (``_weakening``).

Size: past 400 lines because every setting is one declaration here, with its comment, in the
order docs/server.md lists them (a reader finds a setting in one place): one pydantic
``Settings`` class, the one place configuration enters (STYLE.md rule 7). The checks that span
settings live apart (``_weakening``, ``_account_settings``, ``settings_report``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ._account_settings import account_problems
from ._weakening import is_loopback_host, weakening_problems

__all__ = ["DEVELOPMENT", "Settings", "format_settings_errors", "is_loopback_host"]

_MAX_CONFIG_FILE = 1 << 20  # a settings file is a few KiB

DEVELOPMENT = "development"
_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_StrList = Annotated[tuple[str, ...], NoDecode]


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return tuple(json.loads(text))
        return tuple(item.strip() for item in text.split(",") if item.strip())
    return value


def _origin(value: str) -> str:
    if value.strip() in ("*", "null"):
        # The server answers CORS with credentials (cookies, tokens): a wildcard or the opaque
        # "null" origin (sandboxed frames, file: pages) would let any page use them.
        raise ValueError(
            f"{value.strip()!r} is refused: credentialed CORS needs each origin named, like "
            "https://app.example.com"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{value!r} is not an origin like https://app.example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} is not an origin like https://app.example.com")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Settings(BaseSettings):
    """Everything ``jwtwarden serve`` can be told. See the module docstring for sources.

    Example:
        >>> settings = Settings(environment="development", port=8080)  # doctest: +SKIP
        >>> settings.issuer_url                                         # doctest: +SKIP
        'http://127.0.0.1:8080'
    """

    model_config = SettingsConfigDict(
        env_prefix="JWTWARDEN_", extra="forbid", frozen=True, validate_default=True
    )

    # --- where and what ---------------------------------------------------------------------
    environment: str = DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path(".jwtwarden")
    issuer: str | None = None
    audience: _StrList = ()

    # --- storage ----------------------------------------------------------------------------
    database_url: SecretStr | None = None
    database_schema: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Fail fast on a stalled database (below common client timeouts of 10-30 s): a statement,
    # a lock wait and a wait for a pooled connection each end in a 503 with Retry-After.
    database_statement_timeout: float = Field(default=5.0, gt=0, le=300)
    database_lock_timeout: float = Field(default=2.0, gt=0, le=300)
    database_pool_timeout: float = Field(default=3.0, gt=0, le=300)
    auto_migrate: bool | None = None
    redis_url: SecretStr | None = None
    redis_prefix: str = Field(default="jwtwarden:", min_length=1, max_length=64)
    denylist: Literal["memory", "redis", "database"] | None = None
    denylist_fail_open: bool = False

    # --- keys -------------------------------------------------------------------------------
    kek: SecretStr | None = None
    key_store: Literal["directory", "database"] | None = None
    signing_algorithm: str = "ES256"
    key_rotation_days: float = Field(default=30.0, gt=0, le=365)
    key_publish_ahead: int = Field(default=3600, ge=0, le=86400)
    key_refresh_interval: float = Field(default=30.0, gt=0, le=3600)

    # --- tokens and sessions ----------------------------------------------------------------
    access_token_ttl: int = Field(default=600, ge=300, le=900)
    refresh_idle_ttl: int = Field(default=14 * 86400, ge=60)
    refresh_absolute_ttl: int = Field(default=30 * 86400, ge=60, le=365 * 86400)
    # Seconds during which a retried refresh (its successor not used yet) gets the same
    # successor again; 0: every spent token is reuse (sessions.rotation, docs/security.md).
    refresh_retry_window: float = Field(default=30.0, ge=0, le=300)
    client_id: str = "jwtwarden"
    client_ids: _StrList = ()
    scopes: _StrList = ()
    password_min_length: int = Field(default=8, ge=8, le=128)
    # How long a browser stays signed in to the hosted pages (max_age can ask for less).
    signin_session_ttl: int = Field(default=12 * 3600, ge=300, le=30 * 86400)

    # --- accounts (issue 15; docs/accounts.md) ----------------------------------------------
    # role -> the scopes it grants, as JSON ({"editor": ["items:read", "items:write"]}) or a TOML
    # table; each scope one of ``scopes`` or an identity scope (openid, profile, email).
    roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Roles every account holds (on top of its assigned ones); each one of ``roles``.
    default_roles: _StrList = ()
    # A dotted path ("myapp.claims:add_claims") to a callable adding claims to each token.
    claims_hook: str | None = None
    claims_hook_timeout: float = Field(default=1.0, gt=0, le=30)
    # Self-service sign-up (POST /account/signup): off unless asked for.
    signup: bool = False
    # Where account e-mail links point (the hosted pages by default: ISSUER/account).
    account_link_base: str | None = None
    # Mail: SMTP submission if smtp_host is set; else, in development, .eml files in
    # DATA_DIR/outbox; else none (the links cannot be sent: logged).
    mail_from: str = "jwtwarden@localhost"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["tls", "starttls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None

    # --- browsers ---------------------------------------------------------------------------
    cookie_mode: bool = False
    cookie_access_token: bool = False
    cookie_samesite: Literal["strict", "lax"] = "strict"
    cookie_host_prefix: bool = True
    allowed_origins: _StrList = ()

    # --- introspection, limits, observability -----------------------------------------------
    introspection_client_id: str | None = None
    introspection_client_secret: SecretStr | None = None
    rate_limit_window: int = Field(default=60, ge=1, le=86400)
    rate_limit_login_account: int = Field(default=10, ge=1)
    rate_limit_login_address: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=16384, ge=1024, le=1 << 20)
    # Seconds a client has to send its whole request body (408 after): a slow-body client
    # ties up a worker's connection no longer than this. Headers: the TLS proxy's job.
    body_timeout: float = Field(default=10.0, ge=0.1, le=300)
    metrics: bool = True
    metrics_token: SecretStr | None = None
    # The token inspector page at /inspect/ (jwtwarden.inspector): off unless asked for.
    inspector: bool = False
    # The API description at /docs (HTML, no script) and /openapi.json (routes/pages.py).
    openapi_docs: bool = True
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed
    # (uvicorn's forwarded_allow_ips, comma-separated). Unset: the peer address is the client,
    # so behind a proxy every client would share one rate-limit bucket and look like loopback.
    trusted_proxies: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("JWTWARDEN_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise ValueError(f"JWTWARDEN_CONFIG names {config_file!r}, which is not a file")
            if Path(config_file).stat().st_size > _MAX_CONFIG_FILE:
                # The TOML source reads the whole file: a bound before it does.
                raise ValueError(
                    f"JWTWARDEN_CONFIG names {config_file!r}, which is over "
                    f"{_MAX_CONFIG_FILE} bytes"
                )
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    # --- field checks -----------------------------------------------------------------------

    @field_validator(
        "audience", "client_ids", "scopes", "allowed_origins", "default_roles", mode="before"
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if not _ENVIRONMENT.fullmatch(value):
            raise ValueError("must be a name such as development, staging or production")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_origin(v) for v in value)

    @field_validator("client_id", "introspection_client_id")
    @classmethod
    def _client(cls, value: str | None) -> str | None:
        if value is not None and not _CLIENT_ID.fullmatch(value):
            raise ValueError("must be 1-128 letters, digits or _ . : -")
        return value

    @field_validator("database_schema")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", value):
            raise ValueError("must be a plain PostgreSQL identifier")
        return value

    @field_validator("signing_algorithm")
    @classmethod
    def _algorithm(cls, value: str) -> str:
        from .._jose.algorithms import spec_for

        spec_for(value)  # ValueError for unknown and "none"
        if value.startswith("HS"):
            raise ValueError("the token service signs with an asymmetric algorithm (ES256...)")
        return value

    # --- whole-configuration checks ---------------------------------------------------------

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        # Every problem at once (one per line, each naming its setting), not the first only.
        problems = [*self._shape_problems(), *weakening_problems(self)]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _shape_problems(self) -> list[str]:
        problems: list[str] = []
        issuer = self.issuer_url
        parts = urlsplit(issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"JWTWARDEN_ISSUER: must be an http(s) URL, not {issuer!r}")
        if parts.query or parts.fragment:
            problems.append(
                "JWTWARDEN_ISSUER: must not have a query or fragment (RFC 8414 section 2)"
            )
        if self.issuer is None and self.host.strip("[]") in ("0.0.0.0", "::", ""):  # noqa: S104 - refused
            # Listening on every interface is fine; deriving the issuer from it is not: every
            # token would say iss http://0.0.0.0:PORT, an address no client can reach, and a
            # verifier configured with the real URL would refuse them all (RFC 8414 section 3.3:
            # the metadata's issuer must be the URL clients use). Refused, not warned: the fix
            # is one variable, and a warning scrolls away while the tokens stay wrong.
            problems.append(
                f"JWTWARDEN_HOST: {self.host} listens on every interface, so the development "
                f"issuer would be http://{self.host}:{self.port}, which no client can reach; set "
                f"the URL clients use, e.g. JWTWARDEN_ISSUER=http://localhost:{self.port}"
            )
        if self.refresh_idle_ttl > self.refresh_absolute_ttl:
            problems.append(
                "JWTWARDEN_REFRESH_IDLE_TTL: refresh_idle_ttl must not exceed refresh_absolute_ttl"
            )
        if self.key_refresh_interval > max(self.key_publish_ahead, 1):
            problems.append(
                "JWTWARDEN_KEY_REFRESH_INTERVAL: key_refresh_interval must not exceed "
                "key_publish_ahead"
            )
        if (self.introspection_client_id is None) != (self.introspection_client_secret is None):
            problems.append(
                "JWTWARDEN_INTROSPECTION_CLIENT_ID: set both introspection_client_id and "
                "introspection_client_secret"
            )
        secret = self.introspection_client_secret
        if secret is not None and len(secret.get_secret_value()) < 32:
            problems.append(
                "JWTWARDEN_INTROSPECTION_CLIENT_SECRET: introspection_client_secret must be at "
                "least 32 characters"
            )
        token = self.metrics_token
        if token is not None and len(token.get_secret_value()) < 32:
            problems.append("JWTWARDEN_METRICS_TOKEN: metrics_token must be at least 32 characters")
        if self.cookie_mode and not self.allowed_origins:
            problems.append(
                "JWTWARDEN_COOKIE_MODE: cookie_mode needs allowed_origins (the browser apps' "
                "origins)"
            )
        problems.extend(account_problems(self))
        if self.denylist == "redis" and self.redis_url is None:
            problems.append("JWTWARDEN_DENYLIST: denylist=redis needs redis_url")
        if self.redis_url is not None:
            scheme = urlsplit(self.redis_url.get_secret_value()).scheme
            if scheme not in ("redis", "rediss", "unix"):
                problems.append(
                    "JWTWARDEN_REDIS_URL: redis_url must be a redis://, rediss:// or unix:// URL"
                )
        try:
            self.database_kind  # noqa: B018 - validates the URL
        except ValueError as exc:
            problems.append(f"JWTWARDEN_DATABASE_URL: {exc}")
        try:
            self.kek_bytes  # noqa: B018 - validates the KEK's encoding
        except Exception as exc:
            problems.append(f"JWTWARDEN_KEK: {exc}")
        if self.environment != DEVELOPMENT:
            problems.extend(self._production_problems(parts.scheme, parts.hostname))
        return problems

    def _production_problems(self, scheme: str, hostname: str | None) -> list[str]:
        env = self.environment
        problems: list[str] = []
        if self.kek is None and not os.environ.get("JWTWARDEN_KEK"):
            problems.append(
                f"JWTWARDEN_KEK: environment {env!r} needs a key-encryption key: set "
                "JWTWARDEN_KEK to the base64url encoding of 32 random bytes"
            )
        if self.issuer is None:
            problems.append(
                f"JWTWARDEN_ISSUER: environment {env!r} needs an explicit issuer (JWTWARDEN_ISSUER)"
            )
        elif scheme != "https" and not is_loopback_host(hostname):
            problems.append(
                f"JWTWARDEN_ISSUER: environment {env!r} refuses the development setting of an "
                "http issuer on a non-loopback host; use https"
            )
        return problems

    # --- derived values ---------------------------------------------------------------------

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT

    @property
    def issuer_url(self) -> str:
        """The ``iss`` of every token: the configured issuer, or ``http://HOST:PORT``."""
        if self.issuer is not None:
            return self.issuer  # exactly as configured: issuers are compared exactly
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def audiences(self) -> tuple[str, ...]:
        """The ``aud`` of access tokens: configured, or the issuer URL."""
        return self.audience or (self.issuer_url,)

    @property
    def link_base(self) -> str:
        """The URL account e-mail links point under."""
        return self.account_link_base or self.issuer_url.rstrip("/") + "/account"

    @property
    def role_table(self) -> Any:
        """The configured roles as an ``accounts.roles.RoleTable`` (ValueError if invalid)."""
        from ..accounts.roles import RoleTable

        return RoleTable(
            roles={name: frozenset(scopes) for name, scopes in self.roles.items()},
            default_roles=frozenset(self.default_roles),
        )

    @property
    def database(self) -> str:
        """The database URL: configured, or SQLite in the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'jwtwarden.db').resolve()}"

    @property
    def database_kind(self) -> str:
        from ..stores.sql import async_url

        return async_url(self.database).get_backend_name()

    @property
    def effective_key_store(self) -> str:
        if self.key_store is not None:
            return self.key_store
        return "directory" if self.is_development else "database"

    @property
    def effective_denylist(self) -> str:
        if self.denylist is not None:
            return self.denylist
        if self.redis_url is not None:
            return "redis"
        # Several worker processes cannot share an in-process denylist, and outside development
        # a second instance (another host, a rolling restart) is the normal case.
        return "memory" if self.is_development and self.workers == 1 else "database"

    @property
    def effective_auto_migrate(self) -> bool:
        return self.is_development if self.auto_migrate is None else self.auto_migrate

    @property
    def kek_bytes(self) -> bytes | None:
        """The KEK (decoded) if configured here or in ``$JWTWARDEN_KEK``; else ``None``."""
        from ..keys.sealing import decode_kek

        if self.kek is not None:
            return decode_kek(self.kek.get_secret_value(), "JWTWARDEN_KEK")
        encoded = os.environ.get("JWTWARDEN_KEK")
        return decode_kek(encoded) if encoded else None


def format_settings_errors(exc: Exception) -> str:
    """A readable list of what is wrong with the configuration; never the values given
    (they may be secrets)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    lines: list[str] = []
    for error in errors(include_input=False, include_url=False):
        loc = ".".join(str(part) for part in error.get("loc", ()))
        message = str(error.get("msg", "invalid"))
        if not loc:
            # A whole-configuration check: one problem a line, each naming its setting.
            message = message.removeprefix("Value error, ")
            lines.extend(f"  {line}" for line in message.splitlines())
            continue
        lines.append(f"  JWTWARDEN_{loc.upper()}: {message}")
    return "\n".join(lines)
