"""The hosted pages (issue 14): server-rendered HTML from the templates in this package, no
build step and no script. One module per page over the shared ``layout``:

- ``signin``: the sign-in form of the authorization endpoint (and of ``GET /signin``);
- ``error``: the error page of an authorization request that must not be redirected;
- ``signout``: the confirm form that ends the sign-in session;
- ``account``: the user's sessions, sign out everywhere, change password.

The pages sit on top of the framework-free authorization core (``oauth.authorize``), as Ory
Hydra keeps its login UI apart from the protocol: another UI can replace them.
"""

from __future__ import annotations

__all__: list[str] = []
