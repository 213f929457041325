"""Accounts beyond the login: roles (what an account may be granted), the claims hook, and
the account lifecycle (issue 15). Framework-free, like ``sessions``; the server and the CLI
are thin edges over it."""

from __future__ import annotations
