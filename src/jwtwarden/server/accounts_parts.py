"""The account components of the ``Runtime``, built from ``Settings``: the role store and the
``UserScopes`` over it, the claims hook runner, and ``AccountAdmin``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._files import private_directory, random_key_file
from ..accounts.admin import AccountAdmin
from ..accounts.claims_hook import ClaimsHookRunner, load_hook
from ..accounts.lifecycle import AccountLifecycle, LifecycleConfig
from ..accounts.links import SECRET_BYTES, LinkTokens, derive_link_secret
from ..accounts.mail import FileOutbox, MailMessage, MailSender, SMTPSender
from ..accounts.roles import UserScopes
from ..clock import Clock
from ..sessions.service import SessionService
from ..stores.sql import SQLRoleStore
from .settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["account_lifecycle", "claims_hook_runner", "mail_sender", "user_scopes"]

LINK_KEY_FILE = "account-links.key"


def user_scopes(settings: Settings, engine: AsyncEngine) -> UserScopes:
    """The configured roles over the database's role assignments."""
    return UserScopes(settings.role_table, SQLRoleStore(engine))


def claims_hook_runner(settings: Settings) -> ClaimsHookRunner | None:
    """The claims hook named by ``JWTWARDEN_CLAIMS_HOOK``, or ``None``.

    Raises:
        ValueError: it cannot be imported or is not callable (refused at start, not at the
            first login).
    """
    if settings.claims_hook is None:
        return None
    try:
        hook = load_hook(settings.claims_hook)
    except ValueError as exc:
        raise ValueError(f"JWTWARDEN_CLAIMS_HOOK: {exc}") from None
    return ClaimsHookRunner(hook, timeout=settings.claims_hook_timeout)


class _NoMail:
    """No sender configured outside development: every message is dropped, loudly."""

    async def send(self, message: MailMessage) -> None:
        raise RuntimeError("no mail sender is configured (JWTWARDEN_SMTP_HOST)")


def mail_sender(settings: Settings) -> MailSender:
    """SMTP if configured; the development outbox (``DATA_DIR/outbox``); else none."""
    if settings.smtp_host is not None:
        password = settings.smtp_password
        return SMTPSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=None if password is None else password.get_secret_value(),
        )
    if settings.is_development:
        return FileOutbox(settings.data_dir / "outbox", sender=settings.mail_from)
    return _NoMail()


def link_tokens(settings: Settings, clock: Clock) -> LinkTokens:
    """Link tokens keyed from the KEK, or the development key file in the data directory."""
    kek = settings.kek_bytes
    if kek is not None:
        secret = derive_link_secret(kek)
    else:
        private_directory(settings.data_dir, what="data directory (JWTWARDEN_DATA_DIR)")
        secret = random_key_file(
            settings.data_dir / LINK_KEY_FILE, size=SECRET_BYTES, what="account link key"
        )
    return LinkTokens(secret, issuer=settings.issuer_url, clock=clock)


def account_lifecycle(
    settings: Settings, service: SessionService, admin: AccountAdmin, clock: Clock
) -> AccountLifecycle:
    """Sign-up, verification, reset, e-mail change and deletion (``accounts.lifecycle``)."""
    return AccountLifecycle(
        service=service,
        admin=admin,
        links=link_tokens(settings, clock),
        mail=mail_sender(settings),
        config=LifecycleConfig(link_base=settings.link_base, signup=settings.signup),
    )
