"""Alembic migrations of the auth server's schema (``jwtwarden db upgrade``)."""
