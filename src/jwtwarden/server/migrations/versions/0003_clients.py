"""OAuth clients (issue 14): registrations, their secrets (keyed hashes only) and the
single-use markers of ``private_key_jwt`` assertions (RFC 7523 3, ``jti``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jw_oauth_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("client_type", sa.String(16), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("registration", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_jw_oauth_clients_created_at_id", "jw_oauth_clients", ["created_at", "client_id"]
    )
    op.create_table(
        "jw_oauth_client_secrets",
        sa.Column("digest", sa.LargeBinary(64), primary_key=True),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey("jw_oauth_clients.client_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=True),
    )
    op.create_index(
        "ix_jw_oauth_client_secrets_client_id", "jw_oauth_client_secrets", ["client_id"]
    )
    op.create_table(
        "jw_oauth_assertion_jtis",
        sa.Column("key", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index(
        "ix_jw_oauth_assertion_jtis_expires_at", "jw_oauth_assertion_jtis", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_table("jw_oauth_assertion_jtis")
    op.drop_table("jw_oauth_client_secrets")
    op.drop_table("jw_oauth_clients")
