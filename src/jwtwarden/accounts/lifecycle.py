"""The account lifecycle: self-service sign-up (off unless ``JWTWARDEN_SIGNUP``), e-mail
verification, forgot-password and reset, e-mail change, and deletion by the account's owner.

Enumeration: sign-up, forgot-password and e-mail change answer the same whether an address has
an account or not, and do the same work before answering: the account lookup, an argon2 hash
(sign-up: the real one or a hash of the password given, discarded), a link token minted, and
the message *queued*, never sent while the client waits (an SMTP conversation would time the
answer). The owner of a known address gets a notice instead of a second account. Timing is
benchmarked, not asserted in tests (bench/).

Links: ``accounts.links`` (typed, short-lived, bound to the account's auth version and, for a
verification, to the address). Nothing here logs a link, a token or a password.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ..errors import (
    InvalidCredentialsError,
    InvalidLinkError,
    SignupDisabledError,
    UserExistsError,
)
from ..sessions.config import normalize_email
from ..sessions.ports import UserRecord
from ..sessions.service import SessionService
from .admin import AccountAdmin
from .links import LinkTokens, Purpose
from .mail import MailMessage, MailSender

__all__ = ["AccountLifecycle", "LifecycleConfig"]

_log = logging.getLogger("jwtwarden.accounts")
_MAX_QUEUED = 1000  # messages waiting for the sender; beyond, new ones are dropped (logged)


@dataclass(frozen=True, kw_only=True, slots=True)
class LifecycleConfig:
    """``signup``: self-service sign-up is on. ``link_base``: the URL the links point under
    (``{link_base}/verify#token=...``, ``/reset``, ``/email``): the hosted pages, or your own."""

    link_base: str
    signup: bool = False


class AccountLifecycle:
    """The lifecycle operations over the session service, ``AccountAdmin`` and a mail sender.

    Example:
        >>> lifecycle = AccountLifecycle(service=service, admin=admin, links=links,
        ...     mail=FileOutbox(path, sender="auth@example.test"),
        ...     config=LifecycleConfig(link_base="https://auth.example.test/account"))
        >>> await lifecycle.forgot_password("ada@example.test")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        service: SessionService,
        admin: AccountAdmin,
        links: LinkTokens,
        mail: MailSender,
        config: LifecycleConfig,
    ) -> None:
        self.service = service
        self.admin = admin
        self.links = links
        self.mail = mail
        self.config = config
        self._queued: set[asyncio.Task[None]] = set()

    # --- sign-up and verification ---------------------------------------------------------

    async def sign_up(self, email: object, password: object) -> None:
        """Create an unverified account and mail its verification link; for an address that
        has an account, mail its owner a notice instead. Same answer, same work.

        Raises:
            SignupDisabledError: sign-up is off.
            ValueError: not an email address. PasswordPolicyError: the password is refused.
        """
        if not self.config.signup:
            raise SignupDisabledError("self-service sign-up is disabled on this server")
        address = normalize_email(email)
        if address is None or not isinstance(password, str):
            raise ValueError("expected an email address and a password")
        existing = await self.service.users.user_by_email(address)
        if existing is None:
            try:
                user = await self.service.create_user(address, password)
            except UserExistsError:  # created meanwhile: answered like any known address
                existing = await self.service.users.user_by_email(address)
            else:
                self._send_link("verify", user, address, _VERIFY_SUBJECT, _VERIFY_TEXT)
                return
        await self.service.hasher.ahash(password)  # the work a new account would have cost
        if existing is not None:
            self._links_dummy()
            self._queue(MailMessage(to=address, subject=_EXISTS_SUBJECT, text=_EXISTS_TEXT))

    async def resend_verification(self, user_id: str) -> None:
        """Mail a new verification link to the account's address (if not verified yet)."""
        user = await self.service.users.user_by_id(user_id)
        if user is not None and not user.email_verified:
            self._send_link("verify", user, user.email, _VERIFY_SUBJECT, _VERIFY_TEXT)

    async def verify_email(self, token: object) -> str:
        """Follow a verification link: the account's address (or its pending new one) is
        verified. Which it was: ``email_verified`` or ``email_changed``.

        Raises:
            InvalidLinkError: bad, expired, used or superseded.
        """
        link = self.links.check("verify", token)
        user = await self.service.users.user_by_id(link.user_id)
        if user is not None and user.pending_email is not None:
            pending = user.pending_email
            if self.links.bound_to(link, user, email=pending):
                if not await self.service.users.confirm_email(user.id, pending):
                    raise InvalidLinkError("the link is not valid any more")
                return "email_changed"
        if (
            user is None
            or user.email_verified
            or not self.links.bound_to(link, user, email=user.email)
        ):
            raise InvalidLinkError("the link is not valid any more")
        if not await self.service.users.set_email_verified(user.id, user.email):
            raise InvalidLinkError("the link is not valid any more")
        return "email_verified"

    # --- passwords ------------------------------------------------------------------------

    async def forgot_password(self, email: object) -> None:
        """Mail a reset link if the address has an enabled account; the same otherwise."""
        address = normalize_email(email)
        user = await self.service.users.user_by_email(address) if address else None
        if user is None or user.disabled:
            self._links_dummy()
            return
        self._send_link("reset", user, user.email, _RESET_SUBJECT, _RESET_TEXT)

    async def reset_password(self, token: object, password: object) -> None:
        """Follow a reset link: set the new password, which bumps the auth version (the link
        and every other reset link are dead, every session ends).

        Raises:
            InvalidLinkError: bad, expired, used, superseded, or the account is disabled.
            PasswordPolicyError: the new password is refused (the link stays usable).
        """
        link = self.links.check("reset", token)
        user = await self.service.users.user_by_id(link.user_id)
        if not self.links.bound_to(link, user, email=None):
            raise InvalidLinkError("the link is not valid any more")
        assert user is not None
        if not isinstance(password, str):
            raise ValueError("the new password must be a string")
        new_hash = await self.service.hasher.ahash(password)
        version = await self.service.users.set_password(user.id, new_hash)
        if version != link.auth_version + 1:
            # Another change won the race between the check and the write: not this link's.
            raise InvalidLinkError("the link is not valid any more")
        await self.service.end_all_sessions(user.id, reason="password_reset")

    # --- e-mail change and deletion -------------------------------------------------------

    async def request_email_change(self, user_id: str, password: object, new_email: object) -> None:
        """Check the password, then mail a verification link to the new address (or, if it
        has an account, a notice to its owner). The address changes when the link is followed.

        Raises:
            InvalidCredentialsError: the password is wrong.
            ValueError: not an email address.
        """
        address = normalize_email(new_email)
        user = await self._with_password(user_id, password)
        if address is None:
            raise ValueError("expected an email address for the new address")
        if await self.service.users.user_by_email(address) is not None:
            self._links_dummy()
            self._queue(MailMessage(to=address, subject=_EXISTS_SUBJECT, text=_EXISTS_TEXT))
            return
        await self.service.users.set_pending_email(user.id, address)
        self._send_link("verify", user, address, _CHANGE_SUBJECT, _CHANGE_TEXT)

    async def delete_account(self, user_id: str, password: object) -> int:
        """The owner deletes the account (password required): sessions end, tokens stop,
        data removed. How many sessions ended.

        Raises:
            InvalidCredentialsError: the password is wrong.
        """
        user = await self._with_password(user_id, password)
        return await self.admin.delete_user(user.id)

    async def drain(self) -> None:
        """Wait for the queued messages (tests; a shutdown)."""
        while self._queued:
            await asyncio.gather(*self._queued, return_exceptions=True)

    # --- helpers --------------------------------------------------------------------------

    async def _with_password(self, user_id: str, password: object) -> UserRecord:
        user = await self.service.users.user_by_id(user_id)
        candidate = password if isinstance(password, str) else ""
        if user is None or user.disabled:
            await self.service.hasher.averify_dummy(candidate)
            raise InvalidCredentialsError("the password is wrong")
        if not await self.service.hasher.averify(user.password_hash, candidate):
            raise InvalidCredentialsError("the password is wrong")
        return user

    def _links_dummy(self) -> None:
        # The mint a known address costs, for an unknown one (microseconds; for uniformity).
        self.links.mint("verify", _NOBODY)

    def _send_link(
        self, purpose: Purpose, user: UserRecord, to: str, subject: str, text: str
    ) -> None:
        token = self.links.mint(purpose, user, email=to if purpose == "verify" else None)
        path = {"reset": "reset"}.get(purpose, "email" if to != user.email else "verify")
        link = f"{self.config.link_base.rstrip('/')}/{path}#token={token}"
        self._queue(MailMessage(to=to, subject=subject, text=text.format(link=link)))

    def _queue(self, message: MailMessage) -> None:
        if len(self._queued) >= _MAX_QUEUED:
            _log.error("mail queue full; message dropped", extra={"event": "mail_dropped"})
            return
        task = asyncio.get_running_loop().create_task(self._deliver(message))
        self._queued.add(task)
        task.add_done_callback(self._queued.discard)

    async def _deliver(self, message: MailMessage) -> None:
        try:
            await self.mail.send(message)
        except Exception as exc:
            # Never the message: it holds the link.
            _log.error("mail not sent", extra={"event": "mail_failed", "error": type(exc).__name__})


_NOBODY = UserRecord(id="-", email="nobody@invalid", password_hash="")
_VERIFY_SUBJECT = "Confirm your e-mail address"
_VERIFY_TEXT = (
    "Follow this link within an hour to confirm your e-mail address:\n\n{link}\n\n"
    "If you did not create an account, ignore this message.\n"
)
_CHANGE_SUBJECT = "Confirm your new e-mail address"
_CHANGE_TEXT = (
    "Follow this link within an hour to make this address your account's:\n\n{link}\n\n"
    "If you did not ask for this, ignore this message.\n"
)
_RESET_SUBJECT = "Reset your password"
_RESET_TEXT = (
    "Follow this link within 15 minutes to choose a new password:\n\n{link}\n\n"
    "If you did not ask for this, ignore this message: your password stays as it is.\n"
)
_EXISTS_SUBJECT = "Someone tried to use your e-mail address"
_EXISTS_TEXT = (
    "Someone asked to sign up, or to move an account, with this address, which already has "
    "an account. Nothing was changed. To sign in, use your password or reset it.\n"
)
