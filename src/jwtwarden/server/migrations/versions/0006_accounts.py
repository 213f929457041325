"""Accounts (issue 15): ``jw_users.email_verified`` and ``pending_email`` (an e-mail change
waiting for its link), and the role assignments ``jw_user_roles``.

Written in parallel with 0004 (authorization codes) and 0005 (sign-in links), and chained after
them at the merge; nothing in it depends on their tables.

Existing accounts get ``email_verified = false``: nothing ever verified their addresses.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a constant default): no batch mode, whose
    # copy-and-swap of jw_users would fire the ON DELETE CASCADE of every session on SQLite.
    op.add_column(
        "jw_users",
        sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("jw_users", sa.Column("pending_email", sa.String(254), nullable=True))
    op.create_table(
        "jw_user_roles",
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("jw_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.Double, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("jw_user_roles")
    # ALTER TABLE ... DROP COLUMN: PostgreSQL, and SQLite since 3.35 (no table copy).
    op.execute("ALTER TABLE jw_users DROP COLUMN pending_email")
    op.execute("ALTER TABLE jw_users DROP COLUMN email_verified")
