"""In-memory reference adapter of the authorization ports: codes
(``oauth.codes.AuthorizationCodeStore``) and sign-in sessions
(``oauth.signin.SignInSessionStore``). One process only; no ``await`` between a check and its
write, so each operation is atomic on one event loop."""

from __future__ import annotations

from dataclasses import replace

from ...oauth.codes import AuthorizationCode
from ...oauth.signin import SignInSession

__all__ = ["MemoryAuthorizationStore"]


class MemoryAuthorizationStore:
    """Both authorization ports in dicts."""

    def __init__(self) -> None:
        self._codes: dict[bytes, AuthorizationCode] = {}
        self._signins: dict[str, SignInSession] = {}

    # --- codes ----------------------------------------------------------------------------

    async def create_code(self, code: AuthorizationCode) -> None:
        if code.code_hash in self._codes:
            raise ValueError("a code with this hash exists")
        self._codes[code.code_hash] = code

    async def redeem_code(
        self, code_hash: bytes, *, now: float, session_id: str
    ) -> AuthorizationCode | None:
        code = self._codes.get(code_hash)
        if code is None or code.redeemed_at is not None or code.expires_at <= now:
            return None
        spent = replace(code, redeemed_at=now, session_id=session_id)
        self._codes[code_hash] = spent
        return spent

    async def mark_replayed(self, code_hash: bytes, *, now: float) -> AuthorizationCode | None:
        code = self._codes.get(code_hash)
        if code is None or code.redeemed_at is None:
            return None
        if code.replayed_at is None:
            code = replace(code, replayed_at=now)
            self._codes[code_hash] = code
        return code

    async def code_replayed(self, code_hash: bytes) -> bool:
        code = self._codes.get(code_hash)
        return code is not None and code.replayed_at is not None

    async def purge_codes(self, *, before: float) -> int:
        gone = [key for key, code in self._codes.items() if code.expires_at < before]
        for key in gone:
            del self._codes[key]
        return len(gone)

    # --- sign-in sessions -----------------------------------------------------------------

    async def create_signin(self, session: SignInSession) -> None:
        if session.id in self._signins:
            raise ValueError("a sign-in session with this id exists")
        self._signins[session.id] = session

    async def signin_by_token(self, token_hash: bytes, *, now: float) -> SignInSession | None:
        for session in self._signins.values():
            if session.token_hash == token_hash:
                return session if session.live(now) else None
        return None

    async def user_signins(self, user_id: str, *, now: float) -> list[SignInSession]:
        mine = [s for s in self._signins.values() if s.user_id == user_id and s.live(now)]
        return sorted(mine, key=lambda s: (s.created_at, s.id), reverse=True)

    async def revoke_signin(self, session_id: str, *, now: float) -> bool:
        session = self._signins.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        self._signins[session_id] = replace(session, revoked_at=now)
        return True

    async def revoke_user_signins(self, user_id: str, *, now: float) -> int:
        ended = 0
        for session in list(self._signins.values()):
            if session.user_id == user_id and session.revoked_at is None:
                self._signins[session.id] = replace(session, revoked_at=now)
                ended += 1
        return ended

    async def purge_signins(self, *, before: float) -> int:
        gone = [key for key, s in self._signins.items() if s.expires_at < before]
        for key in gone:
            del self._signins[key]
        return len(gone)
