"""The routes' accessor for the process's ``Runtime`` is named apart from the ``runtime``
module, so that ``runtime`` in a route is always the object."""

from __future__ import annotations

import importlib

from jwtwarden.server import routes
from jwtwarden.server.runtime import Runtime


def test_should_name_the_request_accessor_runtime_of_and_not_shadow_the_runtime_module():
    assert routes.__all__ == ["authenticate", "check_password_guess", "runtime_of"]
    assert not hasattr(routes, "runtime") or routes.runtime is importlib.import_module(
        "jwtwarden.server.runtime"
    )
    assert routes.runtime_of.__annotations__["return"] in ("Runtime", Runtime)
