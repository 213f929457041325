"""The example apps in examples/, exercised end to end: one behind uvicorn on 127.0.0.1 with
its keys discovered from a real issuer server, one behind werkzeug's server."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from werkzeug.serving import make_server

from jwtwarden import generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.keys.key import Key

from ..jwks._servers import CountingServer, counting_server, free_port, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AUDIENCE = "https://api.example"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def issuer_key() -> Key:
    return generate_key("ES256", kid="example-1")


@pytest.fixture
def issuer(issuer_key: Key) -> Iterator[CountingServer]:
    """A real issuer on 127.0.0.1: its discovery document and its JWK Set."""
    with counting_server() as server:
        server.serve_json(
            "/.well-known/openid-configuration",
            {"issuer": server.url(""), "jwks_uri": server.url("/jwks")},
        )
        server.serve_keys("/jwks", [issuer_key])
        yield server


@pytest.fixture
def environment(issuer: CountingServer, monkeypatch: pytest.MonkeyPatch) -> CountingServer:
    monkeypatch.setenv("API_ISSUER", issuer.url(""))
    monkeypatch.setenv("API_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("API_ALLOW_LOOPBACK_HTTP", "1")
    return issuer


def _token(issuer: CountingServer, key: Key, **claims: Any) -> str:
    now = int(time.time())  # the examples use the system clock
    body = {
        "iss": issuer.url(""),
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
        "jti": f"j{now}",
        "client_id": "client-1",  # RFC 9068 2.2
        **claims,
    }
    return sign_compact({"typ": "at+jwt"}, body, key)


@pytest.fixture
def uvicorn_example(environment: CountingServer) -> Iterator[str]:
    app = _load("fastapi_app").app_from_env()
    port = free_port()
    server = uvicorn.Server(
        # loop="asyncio": uvicorn before ~0.36 sets uvloop's policy for the whole process, and
        # every later asyncio.run of the suite would then run on uvloop (a test of an event loop
        # ended with a pool open hung in uvloop's close in the lowest-versions leg).
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", loop="asyncio"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_should_serve_the_fastapi_example_behind_uvicorn_with_discovered_keys(
    uvicorn_example: str, environment: CountingServer, issuer_key: Key
):
    reader = _token(environment, issuer_key, scope="items:read")
    with httpx.Client(base_url=uvicorn_example, trust_env=False) as client:
        assert client.get("/health").json() == {"status": "ok"}
        response = client.get("/items", headers={"Authorization": f"Bearer {reader}"})
        assert response.status_code == 200
        assert response.json() == {"owner": "alice", "items": ["apple", "pear"]}
        denied = client.post("/items", headers={"Authorization": f"Bearer {reader}"})
        assert denied.status_code == 403
        assert 'scope="items:write"' in denied.headers["www-authenticate"]
        anonymous = client.get("/me")
        assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (
            401,
            'Bearer realm="api"',
        )
        forged = _token(environment, generate_key("ES256", kid="example-1"))
        refused = client.get("/me", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
        for _ in range(3):
            client.get("/me", headers={"Authorization": f"Bearer {reader}"})
    # Discovery and the key set were fetched once for every request above.
    assert environment.counts == {"/.well-known/openid-configuration": 1, "/jwks": 1}


def test_should_serve_the_flask_example_over_real_http_with_discovered_keys(
    environment: CountingServer, issuer_key: Key
):
    app = _load("flask_app").app_from_env()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        reader = _token(environment, issuer_key, scope="items:read")
        writer = _token(environment, issuer_key, scp=["items:write"])
        with httpx.Client(base_url=base, trust_env=False) as client:
            ok = client.get("/items", headers={"Authorization": f"Bearer {reader}"})
            assert (ok.status_code, ok.json()["owner"]) == (200, "alice")
            denied = client.get("/items", headers={"Authorization": f"Bearer {writer}"})
            assert denied.status_code == 403
            assert denied.headers["www-authenticate"] == (
                'Bearer realm="example", error="insufficient_scope", scope="items:read"'
            )
            me = client.get("/me", headers={"Authorization": f"Bearer {writer}"})
            assert me.json() == {"sub": "alice"}
            bad = client.get("/me", headers={"Authorization": "Bearer a b"})
            assert bad.status_code == 400
    finally:
        server.shutdown()
        thread.join(10)
    assert environment.counts["/jwks"] == 1
