"""A resource server for the benchmark: one protected endpoint, ``GET /protected``, accepting the
auth server's access tokens (uvicorn factory ``protected_api:protected_app``).

It is what an API built with jwtwarden looks like: the FastAPI integration's ``require_token``
dependency (if ``jwtwarden.integrations.fastapi`` exists; otherwise ``Verifier.verify_async``
called directly, and ``/healthz`` says which), keys from the auth server's JWKS through
``RemoteJWKS``, and, as configured:

- ``BENCH_CACHE=1``: the verified-token cache (``jwtwarden.cache.CachedVerifier``) in front;
- ``BENCH_DENYLIST=1``: the Redis denylist hook (``DenylistCheck``, run on every request,
  cache hits included), on the auth server's prefix.

Environment: ``BENCH_ISSUER``, ``BENCH_REDIS_URL``, ``BENCH_REDIS_PREFIX``.
"""

# No "from __future__ import annotations": FastAPI must see the Depends() of a local.

import os
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.responses import Response

from jwtwarden import VerificationPolicy, Verifier
from jwtwarden.jwks.remote import RemoteJWKS


def _verifier() -> tuple[Any, str]:
    issuer = os.environ["BENCH_ISSUER"]
    checks: tuple[Any, ...] = ()
    notes = []
    if os.environ.get("BENCH_DENYLIST") == "1":
        from jwtwarden.revocation.checks import DenylistCheck
        from jwtwarden.stores.redis import RedisDenylist, redis_client

        client = redis_client(os.environ["BENCH_REDIS_URL"])
        denylist = RedisDenylist(client, prefix=os.environ["BENCH_REDIS_PREFIX"], fast_reads=True)
        checks = (DenylistCheck(denylist),)
        notes.append("redis denylist")
    keys = RemoteJWKS(issuer + "/.well-known/jwks.json", allow_loopback_http=True)
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=issuer, audience=issuer, keys=keys, checks=checks
    )
    verifier: Any = Verifier(policy)
    if os.environ.get("BENCH_CACHE") == "1":
        from jwtwarden.cache import CachedVerifier

        verifier = CachedVerifier(verifier)
        notes.append("verified-token cache")
    return verifier, ", ".join(notes) or "cold verification"


def _dependency(verifier: Any) -> tuple[Callable[..., Any], str]:
    try:
        from jwtwarden.integrations.fastapi import require_token
    except ImportError:
        from fastapi import HTTPException

        async def direct(request: Request) -> Any:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise HTTPException(401)
            try:
                return await verifier.verify_async(token)
            except Exception:
                raise HTTPException(401) from None

        return direct, "Verifier.verify_async directly (no jwtwarden.integrations.fastapi)"
    if os.environ.get("BENCH_CACHE") == "0":
        try:  # the integration caches by default: the cold variant must say so
            return require_token(verifier, cache=False), "require_token(cache=False)"
        except TypeError:
            pass
    return require_token(verifier), "jwtwarden.integrations.fastapi.require_token"


def protected_app() -> FastAPI:
    verifier, mode = _verifier()
    dependency, how = _dependency(verifier)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    description = f'{{"status":"ok","auth":"{how}","mode":"{mode}"}}'.encode()

    @app.get("/healthz")
    async def health() -> Response:
        return Response(description, media_type="application/json")

    @app.get("/protected")
    async def protected(token: Annotated[Any, Depends(dependency)]) -> Response:
        return Response(
            b'{"sub":"' + str(token.claims["sub"]).encode() + b'"}',
            media_type="application/json",
        )

    return app
