"""Attacks on the framework integrations: Authorization header tricks, challenge content,
scope confusion, websocket routes, and fuzzing for any answer outside RFC 6750 (never a 500).
FastAPI and Starlette through the ASGI interface, Flask through its test client."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, WebSocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwtwarden import FixedClock, VerifiedToken, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import JWKSFetchError
from jwtwarden.integrations import fastapi as jw_fastapi
from jwtwarden.integrations._bearer import MalformedAuthorization, bearer_token, granted_scopes

from ..integrations._apps import fastapi_app, flask_app, starlette_app
from ..integrations.conftest import AUDIENCE, ISSUER, NOW, build_verifier

FRAMEWORKS = ["fastapi", "starlette", "flask"]
CHALLENGES = {
    'Bearer realm="api"',
    'Bearer realm="api", error="invalid_request"',
    'Bearer realm="api", error="invalid_token"',
    'Bearer realm="api", error="insufficient_scope", scope="items:read"',
}
Answer = tuple[int, dict[str, str], Any]
Caller = Callable[[str, Sequence[tuple[str, bytes]]], Answer]

KEY = generate_key("ES256", kid="it-1")


def _mint(**claims: Any) -> str:
    now = int(NOW)
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 600}
    return sign_compact(
        {"typ": "at+jwt"}, {**body, "jti": "j1", "client_id": "client-1", **claims}, KEY
    )


def _verifier() -> Verifier:
    return build_verifier(KEY, FixedClock(NOW))


def _asgi(app: Any, mounted: bool) -> Caller:
    async def get(path: str, headers: Sequence[tuple[str, bytes]]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers=list(headers))

    def call(path: str, headers: Sequence[tuple[str, bytes]]) -> Answer:
        if mounted and path.split("?")[0] in ("/items", "/open"):
            path = path.replace("/items", "/items/").replace("/open", "/open/")
        response = asyncio.run(get(path, headers))
        return response.status_code, _lower(response.headers), response.json()

    return call


def _flask(app: Any) -> Caller:
    client = app.test_client()

    def call(path: str, headers: Sequence[tuple[str, bytes]]) -> Answer:
        decoded = [(name, value.decode("latin-1")) for name, value in headers]
        response = client.get(path, headers=decoded)
        return response.status_code, _lower(response.headers), response.get_json()

    return call


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _caller(framework: str, verifier: Any = None) -> Caller:
    verifier = verifier or _verifier()
    if framework == "fastapi":
        return _asgi(fastapi_app(verifier), mounted=False)
    if framework == "starlette":
        return _asgi(starlette_app(verifier), mounted=True)
    return _flask(flask_app(verifier))


@pytest.fixture(scope="module")
def callers() -> dict[str, Caller]:
    return {name: _caller(name) for name in FRAMEWORKS}


def _auth(*values: str) -> list[tuple[str, bytes]]:
    return [("Authorization", v.encode("latin-1")) for v in values]


# --- the Authorization header -------------------------------------------------------------------

GOOD = _mint(scope="items:read")

HEADER_CASES: list[tuple[str, list[tuple[str, bytes]], int]] = [
    ("lower-case scheme", _auth(f"bearer {GOOD}"), 200),
    ("upper-case scheme", _auth(f"BEARER {GOOD}"), 200),
    ("several spaces", _auth(f"Bearer    {GOOD}"), 200),
    ("surrounding spaces", _auth(f"  Bearer {GOOD}  "), 200),
    ("a tab after the scheme", _auth(f"Bearer\t{GOOD}"), 400),  # fixed: was "no credentials"
    ("space then tab", _auth(f"Bearer \t{GOOD}"), 400),
    ("scheme only", _auth("Bearer"), 400),
    ("empty token", _auth("Bearer "), 400),
    ("two tokens", _auth(f"Bearer {GOOD} {GOOD}"), 400),
    ("two headers", _auth(f"Bearer {GOOD}", f"Bearer {GOOD}"), 400),
    # WSGI servers join repeated headers into "Basic ..., Bearer ...": a Basic credential,
    # so Flask answers 401 where ASGI sees two headers (400). Refused either way.
    ("two headers, other first", _auth("Basic dXNlcjpwdw==", f"Bearer {GOOD}"), 0),
    ("joined by a proxy", _auth(f"Bearer {GOOD}, Bearer {GOOD}"), 400),
    ("a newline inside", [("Authorization", f"Bearer {GOOD[:20]}\x0b{GOOD[20:]}".encode())], 400),
    ("very long", _auth("Bearer " + "a" * 20_000), 400),
    ("quoted", _auth(f'Bearer "{GOOD}"'), 400),
    ("Basic", _auth("Basic dXNlcjpwdw=="), 401),
    ("empty header", _auth(""), 401),
    ("no space", _auth(f"Bearer{GOOD}"), 401),
    ("no header", [], 401),
    ("another header name", [("X-Authorization", f"Bearer {GOOD}".encode())], 401),
    ("a control char before the scheme", _auth(f"\x1fBearer {GOOD}"), 401),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [(h, s) for _, h, s in HEADER_CASES],
    ids=[name for name, _, _ in HEADER_CASES],
)
def test_should_answer_each_authorization_header_trick_per_rfc_6750(
    callers: dict[str, Caller], framework: str, headers: list[tuple[str, bytes]], status: int
):
    got, response_headers, _ = callers[framework]("/items", headers)
    assert got in ({400, 401} if status == 0 else {status})
    if status != 200:
        assert response_headers["www-authenticate"] in CHALLENGES


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", ["access_token", "token", "jwt", "bearer"])
def test_should_never_take_a_token_from_the_query_string(
    callers: dict[str, Caller], framework: str, name: str
):
    status, headers, _ = callers[framework](f"/items?{name}={GOOD}", [])
    assert (status, headers["www-authenticate"]) == (401, 'Bearer realm="api"')


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_never_echo_token_content_into_the_challenge_or_the_body(
    callers: dict[str, Caller], framework: str
):
    hostile = _mint(
        scope='items:read", error="none\r\nSet-Cookie: x=1',
        aud="https://other.example",
        sub="</script>",
    )
    for headers in (_auth(f"Bearer {hostile}"), _auth(f"Bearer {hostile}x")):
        status, response_headers, body = callers[framework]("/items", headers)
        assert status == 401
        assert response_headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'
        assert "set-cookie" not in response_headers
        assert "other.example" not in str(body) and "</script>" not in str(body)


# --- scopes -------------------------------------------------------------------------------------

SCOPE_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("exact", {"scope": "items:read"}, 200),
    ("among others", {"scope": "a items:read b"}, 200),
    ("extra spaces", {"scope": "   items:read    other  "}, 200),
    ("scp list", {"scp": ["items:read"]}, 200),
    ("scp string", {"scp": "x items:read"}, 200),
    ("a prefix of it", {"scope": "items"}, 403),
    ("it is a prefix", {"scope": "items:read:all"}, 403),
    ("longer", {"scope": "items:readwrite"}, 403),
    ("other case", {"scope": "ITEMS:READ"}, 403),
    ("tab separated", {"scope": "other\titems:read"}, 403),  # fixed: RFC 6749 3.3 is SP only
    ("newline separated", {"scope": "other\nitems:read"}, 403),
    ("scope wins over scp", {"scope": "", "scp": ["items:read"]}, 403),
    # RFC 8693 4.2: scope is a string; a list, or a null that would fall through to scp, is
    # an invalid_claim: the token is refused (401), never read as "no scope".
    ("scope as a list", {"scope": ["items:read"]}, 401),
    ("scope null with scp", {"scope": None, "scp": ["items:read"]}, 401),
    ("scp with a non-string", {"scp": [1, "items:read"]}, 403),
    ("scp as an object", {"scp": {"items:read": True}}, 403),
    ("none", {}, 403),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("claims", "status"),
    [(c, s) for _, c, s in SCOPE_CASES],
    ids=[name for name, _, _ in SCOPE_CASES],
)
def test_should_grant_only_exact_space_separated_scopes(
    callers: dict[str, Caller], framework: str, claims: dict[str, Any], status: int
):
    got, headers, _ = callers[framework]("/items", _auth(f"Bearer {_mint(**claims)}"))
    assert got == status
    if status == 403:
        assert headers["www-authenticate"] == (
            'Bearer realm="api", error="insufficient_scope", scope="items:read"'
        )


def test_should_split_scopes_on_spaces_only():
    assert granted_scopes({"scope": "a\tb c"}) == {"a\tb", "c"}
    assert granted_scopes({"scp": " a  b "}) == {"a", "b"}


# --- websocket routes (fixed: the FastAPI dependency crashed on them) ---------------------------


def _websocket_app(verifier: Any, scopes: list[str] | None = None) -> FastAPI:
    app = FastAPI()
    dependency = jw_fastapi.require_token(verifier, scopes=scopes or [])

    @app.websocket("/ws")
    async def chat(websocket: WebSocket, token: VerifiedToken = Depends(dependency)) -> None:
        await websocket.accept()
        await websocket.send_json({"sub": token.claims["sub"]})
        await websocket.close()

    return app


async def _handshake(app: Any, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "headers": headers,
        "query_string": b"",
        "root_path": "",
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }
    await app(scope, receive, send)
    return sent


def _bearer_bytes(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def test_should_accept_a_websocket_handshake_with_a_valid_token_through_the_dependency():
    sent = await _handshake(_websocket_app(_verifier()), _bearer_bytes(_mint()))
    assert sent[0]["type"] == "websocket.accept"
    assert '"user-1"' in sent[1]["text"]


@pytest.mark.parametrize(
    "headers",
    [[], _bearer_bytes("not-a-jwt"), [(b"authorization", b"Bearer\tx")], _bearer_bytes(_mint())],
    ids=["no token", "bad token", "malformed", "no scope"],
)
async def test_should_refuse_a_websocket_handshake_through_the_dependency_without_a_500(
    headers: list[tuple[bytes, bytes]],
):
    sent = await _handshake(_websocket_app(_verifier(), ["chat"]), headers)
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008


async def test_should_close_a_websocket_with_try_again_later_when_keys_are_unavailable():
    class Down:
        def verify(self, token: str | bytes) -> VerifiedToken:
            raise JWKSFetchError("issuer down")

        async def verify_async(self, token: str | bytes) -> VerifiedToken:
            raise JWKSFetchError("issuer down")

    sent = await _handshake(_websocket_app(Down()), _bearer_bytes(_mint()))
    assert [(m["type"], m["code"]) for m in sent] == [("websocket.close", 1013)]


# --- fuzzing: nothing outside RFC 6750, never a 500 ---------------------------------------------

_LATIN1 = st.characters(min_codepoint=1, max_codepoint=255, blacklist_characters="\r\n")
_B64ISH = st.text(alphabet="ABCxyz019-_.~+/= \t,\"'", max_size=60)


def _mutations(token: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(token),
        st.integers(0, len(token) - 1).map(lambda i: token[:i]),
        st.tuples(st.integers(0, len(token) - 1), _LATIN1).map(
            lambda p: token[: p[0]] + p[1] + token[p[0] + 1 :]
        ),
        _B64ISH.map(lambda junk: token + junk),
    )


_VALUE = st.one_of(
    st.text(_LATIN1, max_size=80),
    st.tuples(
        st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Bearer:", "", "Token"]),
        st.text(alphabet=" \t", max_size=3),
        st.one_of(_B64ISH, _mutations(GOOD), _mutations(_mint())),
    ).map("".join),
)
_HEADERS = st.lists(_VALUE, max_size=3)


# RFC 6750 2.1, read independently of jwtwarden's parser (no call to the code under test):
#   credentials = "Bearer" 1*SP b64token
#   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
# The scheme is case-insensitive (RFC 9110 11.1), SP and HTAB around the value are not part
# of it (RFC 9110 5.5), and a value longer than the documented 16 KiB cap is refused.
_B64TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-._~+/")


def _rfc6750_token(value: str) -> str | None:
    """The token of one Authorization value; None for another scheme; raises ValueError for
    a Bearer value that breaks the grammar."""
    if len(value) > 16 * 1024:
        raise ValueError("too long")
    value = value.strip(" \t")
    scheme, _, rest = value.partition(" ")
    if "\t" in scheme:  # "Bearer<HTAB>token": HTAB is not the 1*SP separator
        head, _, _ = scheme.partition("\t")
        if head.lower() == "bearer":
            raise ValueError("HTAB after the scheme")
        return None
    if scheme.lower() != "bearer":
        return None
    credentials = rest.lstrip(" ")
    if credentials.startswith("\t"):
        raise ValueError("HTAB after the scheme")
    body = credentials.rstrip("=")
    if not body or any(c not in _B64TOKEN_CHARS for c in body):
        raise ValueError("not a b64token")
    return credentials


def _expected(values: list[str], framework: str) -> set[int]:
    """The statuses RFC 6750 allows for these Authorization values (never 500)."""
    if framework == "flask" and len(values) > 1:
        values = [", ".join(values)]  # WSGI joins repeated headers into one value
    if len(values) == 1:
        try:
            token = _rfc6750_token(values[0])
        except ValueError:
            return {400}  # RFC 6750 3.1 invalid_request
        if token == GOOD:
            return {200}
        return {401} if token is None else {401, 403}
    return {400} if values else {401}


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer abc", "abc"),
        ("bEaReR  abc==", "abc=="),
        (" \tBearer a-b.c_d~e+f/g \t", "a-b.c_d~e+f/g"),
        ("Basic abc", None),
        ("Bearer:abc", None),
        ("Bearerabc", None),
        ("", None),
        ("Token\tabc", None),
    ],
)
def test_should_read_rfc_6750_examples_with_the_independent_oracle(
    value: str, token: str | None
) -> None:
    # The fuzz test below trusts _rfc6750_token: it must agree with the RFC on plain cases,
    # and with the parser under test on them too (so a disagreement is the parser's bug).
    assert _rfc6750_token(value) == token
    assert bearer_token([value]) == token


@pytest.mark.parametrize(
    "value", ["Bearer", "Bearer ", "Bearer\tabc", "Bearer a b", "Bearer =abc", "Bearer a=b"]
)
def test_should_refuse_bearer_values_outside_the_grammar_in_the_oracle_and_the_parser(
    value: str,
) -> None:
    with pytest.raises(ValueError):
        _rfc6750_token(value)
    with pytest.raises(MalformedAuthorization):
        bearer_token([value])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_HEADERS)
def test_should_answer_any_authorization_headers_within_rfc_6750_and_never_500(
    callers: dict[str, Caller], framework: str, values: list[str]
):
    headers = [("Authorization", v.encode("latin-1")) for v in values]
    status, response_headers, body = callers[framework]("/items", headers)
    assert status in _expected(values, framework)
    assert isinstance(body, dict)
    if status != 200:
        assert response_headers["www-authenticate"] in CHALLENGES
        for value in values:
            if len(value) > 12:
                assert value not in response_headers["www-authenticate"]
