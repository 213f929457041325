"""The SQL schema of the auth server (SQLAlchemy Core). Alembic migrations create it; a test
checks that the migrations and this module agree.

Times are seconds since the epoch (double precision), like every ``Clock``. Refresh tokens are
keyed by their SHA-256 hash; a private signing key is stored sealed under the KEK.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

__all__ = [
    "denylist",
    "leases",
    "metadata",
    "refresh_tokens",
    "sessions",
    "signing_keys",
    "user_roles",
    "users",
]

metadata = MetaData()

users = Table(
    "jw_users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(512), nullable=False),
    Column("auth_version", Integer, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", Double, nullable=False),
    # Migration 0005 (issue 15): the owner of ``email`` followed a verification link.
    Column("email_verified", Boolean, nullable=False, server_default=false()),
    # An e-mail change waiting for its verification link to be followed (migration 0005).
    Column("pending_email", String(254), nullable=True),
    # The admin listing's order (migration 0002): a page is a walk of this index, not a sort.
    Index("ix_jw_users_created_at_id", "created_at", "id"),
)

# Role assignments (migration 0005): the roles themselves are configuration (JWTWARDEN_ROLES).
# ``client_id`` is "" for an assignment that holds for every client (a key column cannot be
# NULL). Read by the primary key's leading column (user_id) on every login and refresh.
user_roles = Table(
    "jw_user_roles",
    metadata,
    Column(
        "user_id",
        String(64),
        ForeignKey("jw_users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(64), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("created_at", Double, nullable=False),
)

sessions = Table(
    "jw_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "user_id",
        String(64),
        ForeignKey("jw_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("client_id", String(128), nullable=False),
    Column("scope", String(1024), nullable=False),
    Column("auth_version", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("revoked_at", Double, nullable=True),
    Column("revoke_reason", String(32), nullable=True),
)

refresh_tokens = Table(
    "jw_refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),
    Column(
        "session_id",
        String(64),
        ForeignKey("jw_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("issued_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("spent_at", Double, nullable=True),
    Column("replaced_by", LargeBinary(32), nullable=True),
)

denylist = Table(
    "jw_denylist",
    metadata,
    Column("kind", String(1), primary_key=True),  # "j": jti, "s": sid
    Column("value", String(256), primary_key=True),
    Column("expires_at", Double, nullable=False),
    Index("ix_jw_denylist_expires_at", "expires_at"),
)

signing_keys = Table(
    "jw_signing_keys",
    metadata,
    Column("kid", String(256), primary_key=True),
    Column("environment", String(64), nullable=False),
    Column("alg", String(16), nullable=False),
    Column("token_use", String(32), nullable=True),
    Column("state", String(16), nullable=False),
    Column("publish_at", Double, nullable=False),
    Column("activate_at", Double, nullable=False),
    Column("retire_at", Double, nullable=True),
    Column("remove_at", Double, nullable=True),
    Column("revoked", Boolean, nullable=False),
    Column("private", Boolean, nullable=False),
    Column("kek_id", String(32), nullable=False),
    Column("nonce", String(32), nullable=False),
    Column("sealed", Text, nullable=False),
    Column("updated_at", Double, nullable=False),
)

leases = Table(
    "jw_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", Double, nullable=False),
)
