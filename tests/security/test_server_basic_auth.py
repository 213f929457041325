"""HTTP Basic client authentication in both encodings (security review, class 7).

RFC 6749 2.3.1 form-urlencodes the client id and secret before the Basic encoding; Authlib,
httpx, requests and ``curl -u`` send them raw (RFC 7617). Before, only the form-decoded
reading was compared, so a secret containing ``+`` (or ``%41``) never matched when sent raw.
Both readings are accepted now, each compared in constant time, and nothing else is.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from jwtwarden.server.parsing import BasicCredentials

from .conftest import App, AppFactory

CLIENT_ID = "rs"
# +, %, :, space: every character the two readings disagree on (and the Basic separator).
SECRET = "p+q%41r:s t" + "x" * 24


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"authorization": "Basic " + base64.b64encode(pair).decode()}


async def _introspect(app: App, headers: dict[str, str]) -> int:
    token = (await app.login())["access_token"]
    async with app.client() as c:
        r = await c.post("/oauth/introspect", data={"token": token}, headers=headers)
    if r.status_code == 200:
        assert r.json()["active"] is True
    else:
        assert r.status_code == 401 and "active" not in r.text
    return r.status_code


ACCEPTED = [
    ("raw, as curl -u, requests, httpx and Authlib send it", _basic(CLIENT_ID, SECRET)),
    (
        "form-urlencoded, as RFC 6749 2.3.1 says",
        _basic(quote_plus(CLIENT_ID), quote_plus(SECRET)),
    ),
    ("percent-encoded with %20 for the space", _basic(CLIENT_ID, quote(SECRET, safe=""))),
]
REFUSED = [
    ("the raw secret read as a form (+ as a space)", _basic(CLIENT_ID, "p q%41r:s t" + "x" * 24)),
    ("the form-decoded secret sent raw", _basic(CLIENT_ID, "p qAr:s t" + "x" * 24)),
    ("the raw secret one character short", _basic(CLIENT_ID, SECRET[:-1])),
    ("the form secret one character short", _basic(CLIENT_ID, quote_plus(SECRET)[:-1])),
    ("the secret without its colon part", _basic(CLIENT_ID, SECRET.split(":")[0])),
    ("another client id", _basic("rt", SECRET)),
    ("the client id with a space", _basic("rs ", SECRET)),
    ("invalid UTF-8 once form-decoded", _basic(CLIENT_ID, SECRET + "%FF")),
]


@pytest.mark.parametrize("headers", [h for _, h in ACCEPTED], ids=[name for name, _ in ACCEPTED])
async def test_should_accept_a_client_secret_with_plus_percent_colon_and_space_in_both_encodings(
    make_app: AppFactory, headers: dict[str, str]
) -> None:
    async with make_app(
        introspection_client_id=CLIENT_ID, introspection_client_secret=SECRET
    ) as app:
        assert await _introspect(app, headers) == 200


@pytest.mark.parametrize("headers", [h for _, h in REFUSED], ids=[name for name, _ in REFUSED])
async def test_should_refuse_every_other_reading_of_the_client_secret(
    make_app: AppFactory, headers: dict[str, str]
) -> None:
    async with make_app(
        introspection_client_id=CLIENT_ID, introspection_client_secret=SECRET
    ) as app:
        assert await _introspect(app, headers) == 401


async def test_should_accept_httpx_basic_auth_as_a_real_client_sends_it(
    make_app: AppFactory,
) -> None:
    async with make_app(
        introspection_client_id=CLIENT_ID, introspection_client_secret=SECRET
    ) as app:
        token = (await app.login())["access_token"]
        async with app.client() as c:
            r = await c.post("/oauth/introspect", data={"token": token}, auth=(CLIENT_ID, SECRET))
    assert r.status_code == 200 and r.json()["active"] is True


def test_should_keep_the_client_secret_out_of_the_credentials_repr() -> None:
    credentials = BasicCredentials(CLIENT_ID, SECRET, CLIENT_ID, SECRET)
    assert SECRET not in repr(credentials) and "x" * 24 not in repr(credentials)
