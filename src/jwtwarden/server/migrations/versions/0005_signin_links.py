"""OpenID Connect logout (issue 15): which refresh sessions each browser sign-in session
started, so ending the sign-in revokes their tokens.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jw_signin_links",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("signin_session_id", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index(
        "ix_jw_signin_links_signin_session_id", "jw_signin_links", ["signin_session_id"]
    )
    op.create_index("ix_jw_signin_links_expires_at", "jw_signin_links", ["expires_at"])


def downgrade() -> None:
    op.drop_table("jw_signin_links")
