"""The authorization endpoint (issue 14 part 2): authorization codes (stored as SHA-256, with
what they are bound to) and the hosted pages' sign-in sessions (cookie value stored as SHA-256).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jw_oauth_codes",
        sa.Column("code_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("redirect_uri_in_request", sa.Boolean, nullable=False),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(1024), nullable=False),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("jw_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("auth_time", sa.Double, nullable=False),
        sa.Column("nonce", sa.String(512), nullable=True),
        sa.Column("signin_session_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("redeemed_at", sa.Double, nullable=True),
        sa.Column("replayed_at", sa.Double, nullable=True),
    )
    op.create_index("ix_jw_oauth_codes_expires_at", "jw_oauth_codes", ["expires_at"])
    op.create_table(
        "jw_signin_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("jw_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("auth_version", sa.Integer, nullable=False),
        sa.Column("auth_time", sa.Double, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.Column("revoked_at", sa.Double, nullable=True),
    )
    op.create_index("ix_jw_signin_sessions_user_id", "jw_signin_sessions", ["user_id"])
    op.create_index("ix_jw_signin_sessions_expires_at", "jw_signin_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("jw_signin_sessions")
    op.drop_table("jw_oauth_codes")
