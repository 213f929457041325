"""Initial schema: users, sessions, refresh tokens, denylist, signing keys, leases.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jw_users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(512), nullable=False),
        sa.Column("auth_version", sa.Integer, nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_table(
        "jw_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("jw_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(1024), nullable=False),
        sa.Column("auth_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("revoked_at", sa.Double, nullable=True),
        sa.Column("revoke_reason", sa.String(32), nullable=True),
    )
    op.create_index("ix_jw_sessions_user_id", "jw_sessions", ["user_id"])
    op.create_index("ix_jw_sessions_expires_at", "jw_sessions", ["expires_at"])
    op.create_table(
        "jw_refresh_tokens",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("jw_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("issued_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("spent_at", sa.Double, nullable=True),
        sa.Column("replaced_by", sa.LargeBinary(32), nullable=True),
    )
    op.create_index("ix_jw_refresh_tokens_session_id", "jw_refresh_tokens", ["session_id"])
    op.create_table(
        "jw_denylist",
        sa.Column("kind", sa.String(1), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("ix_jw_denylist_expires_at", "jw_denylist", ["expires_at"])
    op.create_table(
        "jw_signing_keys",
        sa.Column("kid", sa.String(256), primary_key=True),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("token_use", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("publish_at", sa.Double, nullable=False),
        sa.Column("activate_at", sa.Double, nullable=False),
        sa.Column("retire_at", sa.Double, nullable=True),
        sa.Column("remove_at", sa.Double, nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("kek_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
    )
    op.create_table(
        "jw_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "jw_leases",
        "jw_signing_keys",
        "jw_denylist",
        "jw_refresh_tokens",
        "jw_sessions",
        "jw_users",
    ):
        op.drop_table(table)
