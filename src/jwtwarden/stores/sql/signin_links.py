"""``SQLSignInLinkStore`` (``oauth.signin_links.SignInLinkStore``): which refresh sessions each
browser sign-in started, in ``jw_signin_links`` (migration 0005)."""

from __future__ import annotations

from sqlalchemy import Column, Double, String, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from .failures import translates_driver_errors
from .schema import metadata

__all__ = ["SQLSignInLinkStore", "signin_links"]

signin_links = Table(
    "jw_signin_links",
    metadata,
    # One row per refresh session started from a code; no foreign keys: the link is written
    # before the session exists (a failure then issues no tokens at all), and both sides are
    # purged by their own expiry.
    Column("session_id", String(64), primary_key=True),
    Column("signin_session_id", String(64), nullable=False, index=True),
    Column("expires_at", Double, nullable=False, index=True),
)


@translates_driver_errors
class SQLSignInLinkStore:
    """Links in ``jw_signin_links``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def link(self, signin_session_id: str, session_id: str, *, expires_at: float) -> None:
        stmt = insert(signin_links).values(
            session_id=session_id, signin_session_id=signin_session_id, expires_at=expires_at
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def linked_sessions(self, signin_session_id: str) -> list[str]:
        link = signin_links.c
        stmt = select(link.session_id).where(link.signin_session_id == signin_session_id)
        async with self.engine.connect() as conn:
            return [str(row.session_id) for row in await conn.execute(stmt)]

    async def purge_links(self, *, before: float) -> int:
        stmt = delete(signin_links).where(signin_links.c.expires_at < before)
        async with self.engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)
