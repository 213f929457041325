"""An index for the admin API's account listing (``GET /admin/users``).

The listing pages through ``jw_users`` ordered by ``(created_at, id)``; without an index on
that order every page read and sorted the whole table (``SCAN jw_users`` and a temporary
B-tree on SQLite, a sequential scan and a sort on PostgreSQL). With it a page is an ordered
walk of the index stopped by ``LIMIT`` (tests/stores/test_query_plans.py).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jw_users_created_at_id", "jw_users", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_jw_users_created_at_id", table_name="jw_users")
