"""schemathesis against the server's own OpenAPI description, on a real server on 127.0.0.1.

The app serves no schema (``openapi_url=None``); the test builds it with ``app.openapi()`` from
the same routes the server runs, loads it with schemathesis, and sends each operation generated
requests (valid by the schema, then not), anonymous and as an administrator. Every response
must be no 5xx, have a status the operation documents, and the content type it documents for
that status. Bounded: a fixed number of examples per operation, derandomized.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings
from tests.server.support import ServerProcess, clean_env, free_port, run_cli

ADMIN = ("admin@fuzz.example", "a fuzzing admin password 0S6_WzA2Mj")
EXAMPLES = int(os.environ.get("JWTWARDEN_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Ending the administrator's own session would turn the rest of the run into 401s.
ANONYMOUS_ONLY = {("POST", "/auth/logout")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            "JWTWARDEN_ALLOWED_ORIGINS": "https://app.fuzz.example",
            "JWTWARDEN_INTROSPECTION_CLIENT_ID": "resource-server",
            "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": "an introspection secret 0S6_WzA2Mj",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT": "100000",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "100000",
            "JWTWARDEN_SCOPES": "read,write",
            # Every account may have read and write (issue 15: scopes come from roles).
            "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
            "JWTWARDEN_DEFAULT_ROLES": "member",
        }
    )
    made = run_cli(
        ["users", "create", ADMIN[0], "--password-stdin", "--admin", "--create-database"],
        env,
        stdin=ADMIN[1] + "\n",
    )
    assert made.returncode == 0, made.stderr
    process = ServerProcess(env, port, tmp / "server.log")
    try:
        process.wait_ready()
        login = httpx.post(
            process.base_url + "/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}
        )
        assert login.status_code == 200, login.text
        yield process.base_url, login.json()["access_token"]
    finally:
        process.stop()


def _schema() -> Any:
    app = create_app(Settings(data_dir=Path("/nonexistent"), issuer="http://127.0.0.1:1"))
    return schemathesis.openapi.from_dict(app.openapi())


def _operations() -> list[Any]:
    return [result.ok() for result in _schema().get_all_operations()]


OPERATIONS = _operations()


def _cases() -> list[Any]:
    out = []
    for op in OPERATIONS:
        # Negative cases break a body or a query parameter; an operation with neither (or only
        # a free string in its path) has nothing to break.
        modes = [GenerationMode.POSITIVE]
        if len(op.body) or len(op.query):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            for as_admin in (False, True):
                if as_admin and (op.method.upper(), op.path) in ANONYMOUS_ONLY:
                    continue
                who = "admin" if as_admin else "anonymous"
                out.append(pytest.param(op, as_admin, mode, id=f"{op.label}-{who}-{mode.value}"))
    return out


@pytest.mark.parametrize(("operation", "as_admin", "mode"), _cases())
def test_should_answer_every_generated_request_as_the_schema_documents(
    server: tuple[str, str], operation: Any, as_admin: bool, mode: GenerationMode
) -> None:
    base_url, admin_token = server
    headers = {"Authorization": f"Bearer {admin_token}"} if as_admin else None
    calls = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
    assert calls, "no request was sent"
