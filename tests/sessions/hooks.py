"""Claims hooks named by dotted path in the tests (``tests.sessions.hooks:...``)."""

from __future__ import annotations

from typing import Any

from jwtwarden.accounts.claims_hook import ClaimsHookRequest

NOT_CALLABLE = {"org": "acme"}


def organisation(request: ClaimsHookRequest) -> dict[str, Any]:
    """Adds the account's organisation and the token type it was asked for."""
    return {"org": "acme", "hooked_for": request.token_type, "hooked_client": request.client_id}


def broken(request: ClaimsHookRequest) -> dict[str, Any]:
    raise RuntimeError("the organisation service is down for ada@example.com")
