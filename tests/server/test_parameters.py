"""Every route's path parameters, query parameters and JSON/form fields against malformed
values (NUL, lone surrogates, invalid UTF-8, over-long values, wrong types), over real HTTP on
SQLite and on PostgreSQL (which refuses NUL in text: a value that reached it was a 503).

The routes are read from the app's router, so a route added later is covered without a new
test: each must answer these values with a 4xx and an RFC 6749 5.2 body, never a 5xx.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

from .conftest import INTROSPECTION, Deployment

pytestmark = pytest.mark.slow

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"

# Percent-encoded, as they travel in a path or a query string.
BAD_URL_VALUES = {
    "nul": "%00",
    "nul_inside": "a%00b",
    "overlong_nul": "%C0%80",
    "invalid_utf8": "%FF%FE",
    "lone_surrogate_utf8": "%ED%A0%80",
    "control": "%1B%5B2J",
    "bidi_override": "%E2%80%AE",
    "zero_width": "%E2%80%8B",
    "over_long": "a" * 5000,
}
INVISIBLE_IN_LOGS = ("%E2%80%AE", "%E2%81%A6", "%E2%80%8B", "%1B", "%C2%9B", "%E2%80%A8")

# JSON texts for one member (raw, so the lone surrogate stays a JSON escape).
BAD_JSON_VALUES = {
    "nul": '"a\\u0000b"',
    "only_nul": '"\\u0000"',
    "lone_surrogate": '"\\ud800"',
    "over_long": json.dumps("a" * 9000),  # over every field's cap (tokens: 8192)
    "list": '["a"]',
    "object": '{"a": 1}',
    "number": "1",
    "boolean": "true",
}

BAD_FORM_VALUES = {
    "nul": "a%00b",
    "only_nul": "%00",
    "invalid_utf8": "%FF",
    "lone_surrogate_utf8": "%ED%A0%80",
    "over_long": "a" * 9000,
}

# What each POST route reads: its encodings, a well-formed body, and the members it parses.
# A member a route does not read is ignored (RFC 6749 3.1), so only these must be refused.
# The router is the source of truth: a new route fails the guard test until it is listed.
ROUTE_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, Any], tuple[str, ...]]] = {
    "/auth/login": (
        ("json",),
        {"email": "nobody@example.test", "password": "p" * 20},
        ("email", "password", "client_id", "scope"),
    ),
    "/auth/logout": (("json", "form"), {"refresh_token": "x"}, ("refresh_token",)),
    "/auth/password": (
        ("json",),
        {"current_password": "x" * 20, "new_password": "y" * 20},
        ("current_password", "new_password"),
    ),
    "/oauth/token": (
        ("form",),
        {"grant_type": "refresh_token", "refresh_token": "x"},
        ("grant_type", "refresh_token", "scope", "client_id", "client_secret"),
    ),
    "/oauth/revoke": (("form",), {"token": "x"}, ("token",)),
    "/oauth/introspect": (("form",), {"token": "x"}, ("token",)),
    "/admin/users": (
        ("json",),
        {"email": "not-an-address", "password": "p" * 20},
        ("email", "password", "is_admin"),
    ),
    "/admin/keys/rotate": (("json",), {"immediate": 1}, ("immediate",)),
    "/admin/users/{user_id}/disable": (("json",), {}, ()),
    "/admin/users/{user_id}/enable": (("json",), {}, ()),
    "/admin/users/{user_id}/sessions/revoke": (("json",), {}, ()),
    "/admin/clients": (
        ("json",),
        {"client_name": "Probe", "grant_types": ["client_credentials"]},
        ("client_name", "client_type", "token_endpoint_auth_method", "jwks_uri"),
    ),
    "/admin/clients/{client_id}/disable": (("json",), {}, ()),
    "/admin/clients/{client_id}/enable": (("json",), {}, ()),
    "/admin/clients/{client_id}/rotate-secret": (("json",), {}, ("overlap",)),
    # The hosted pages (issue 14): forms, answered with an HTML page when refused.
    "/oauth/authorize": (
        ("form",),
        {"response_type": "code", "client_id": "no-such-client"},
        ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge"),
    ),
    "/signin": (
        ("form",),
        {"email": "nobody@example.test", "password": "p" * 20, "csrf_token": "x"},
        ("email", "password", "csrf_token", "request"),
    ),
    "/signout": (("form",), {"csrf_token": "x"}, ("csrf_token",)),
    "/account/sign-out-everywhere": (("form",), {"csrf_token": "x"}, ("csrf_token",)),
    "/account/password": (
        ("form",),
        {"csrf_token": "x", "current_password": "x" * 20, "new_password": "y" * 20},
        ("csrf_token", "current_password", "new_password"),
    ),
    # The account lifecycle's JSON endpoints and the admin API's account routes (issue 15).
    "/account/signup": (
        ("json",),
        {"email": "nobody@example.test", "password": "p" * 20},
        ("email", "password"),
    ),
    "/account/verify": (("json",), {"token": "x"}, ("token",)),
    "/account/verify/resend": (("json",), {}, ()),
    "/account/password/forgot": (("json",), {"email": "nobody@example.test"}, ("email",)),
    "/account/password/reset": (
        ("json",),
        {"token": "x", "password": "p" * 20},
        ("token", "password"),
    ),
    "/account/email": (
        ("json",),
        {"email": "nobody@example.test", "password": "p" * 20},
        ("email", "password"),
    ),
    "/account/delete": (("json",), {"password": "p" * 20}, ("password",)),
    "/admin/users/{user_id}/roles": (("json",), {"add": []}, ("client_id",)),
    "/admin/users/{user_id}/password": (("json",), {"password": "p" * 20}, ("password",)),
    # OpenID Connect (issue 15): userinfo (RFC 6750 2.2 form) and the end-session page.
    "/oauth/userinfo": (("form",), {"access_token": "x"}, ("access_token",)),
    "/oauth/logout": (
        ("form",),
        {"client_id": "no-such-client"},
        ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "csrf_token"),
    ),
}
# The account lifecycle's hosted pages (issue 15): forms, refused with an HTML page.
ROUTE_FIELDS |= {
    "/signup": (
        ("form",),
        {"csrf_token": "x", "email": "nobody@example.test", "password": "p" * 20},
        ("csrf_token", "email", "password"),
    ),
    "/forgot-password": (
        ("form",),
        {"csrf_token": "x", "email": "nobody@example.test"},
        ("csrf_token", "email"),
    ),
    "/account/verify-email": (
        ("form",),
        {"csrf_token": "x", "token": "x"},
        ("csrf_token", "token"),
    ),
    "/account/reset-password": (
        ("form",),
        {"csrf_token": "x", "token": "x", "password": "p" * 20},
        ("csrf_token", "token", "password"),
    ),
    "/account/change-email": (
        ("form",),
        {"csrf_token": "x", "email": "nobody@example.test", "password": "p" * 20},
        ("csrf_token", "email", "password"),
    ),
    "/account/delete-account": (
        ("form",),
        {"csrf_token": "x", "password": "p" * 20},
        ("csrf_token", "password"),
    ),
}
# Routes of the hosted pages: a refusal may be the page itself (HTML), not an RFC 6749 body.
PAGE_PATHS = {
    "/oauth/authorize",
    "/oauth/logout",
    "/signin",
    "/signout",
    "/account",
    "/account/sign-out-everywhere",
    "/account/password",
}
# The account lifecycle's pages (issue 15).
PAGE_PATHS |= {
    "/signup",
    "/forgot-password",
    "/account/verify-email",
    "/account/reset-password",
    "/account/change-email",
    "/account/delete-account",
}
BOOLEAN_FIELDS = {"is_admin", "immediate"}
# The query parameters each route reads; any other is ignored.
ROUTE_QUERY = {
    ("GET", "/admin/users"): ("limit", "offset"),
    ("GET", "/admin/clients"): ("limit", "after"),
    ("POST", "/auth/login"): ("mode",),
    ("GET", "/oauth/authorize"): (
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "max_age",
    ),
    ("GET", "/oauth/logout"): ("id_token_hint", "client_id", "post_logout_redirect_uri", "state"),
}


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings(data_dir=Path("/nonexistent/never-started")))
    out = []
    for route in app.router.routes:
        if isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    out.append((method, route.path))
    assert ("GET", "/admin/users/{user_id}") in out  # the router is really enumerated
    return out


ROUTES = _routes()
PATH_ROUTES = [(m, p) for m, p in ROUTES if _PARAM.search(p)]
POST_ROUTES = [(m, p) for m, p in ROUTES if m == "POST"]


def _fill(path: str, value: str) -> str:
    return _PARAM.sub(value, path)


def _headers(d: Deployment, path: str) -> dict[str, str]:
    if path == "/oauth/introspect":
        creds = httpx.BasicAuth(*INTROSPECTION)
        request = creds.auth_flow(httpx.Request("POST", d.url)).__next__()
        return {"Authorization": request.headers["Authorization"]}
    return {"Authorization": f"Bearer {d.admin_token}"}


def _assert_refused(response: httpx.Response, path: str, *, allow_ok: bool = False) -> None:
    status = response.status_code
    if allow_ok and status < 400:
        return
    assert 400 <= status < 500, f"{path}: {status} {response.text[:300]}"
    if path in PAGE_PATHS and response.headers["content-type"].startswith("text/html"):
        assert '<html lang="en">' in response.text and "<h1>" in response.text
        return
    body: dict[str, Any] = response.json()
    # RFC 6749 5.2: an "error" code, and an optional human-readable "error_description".
    assert isinstance(body.get("error"), str) and body["error"], body
    assert set(body) <= {"error", "error_description", "error_uri"}, body


def _send(
    d: Deployment, method: str, target: str, body: bytes | None = None, kind: str = "json"
) -> httpx.Response:
    headers = _headers(d, target.split("?", 1)[0])
    if body is not None:
        headers["Content-Type"] = (
            "application/json" if kind == "json" else "application/x-www-form-urlencoded"
        )
    # A raw target: httpx must not re-encode the malformed escapes.
    request = httpx.Request(method, d.url + "/", headers=headers, content=body)
    request.url = request.url.copy_with(raw_path=target.encode("ascii"))
    with httpx.Client(timeout=30) as client:
        return client.send(request)


def _json_with(path: str, name: str, raw: str) -> bytes:
    # Every other member well-formed, so that the malformed one is the only reason to refuse.
    members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in ROUTE_FIELDS[path][1].items()]
    members = [m for m in members if not m.startswith(json.dumps(name) + ":")]
    members.append(f"{json.dumps(name)}: {raw}")
    return ("{" + ", ".join(members) + "}").encode()


def _form_with(path: str, name: str | None = None, raw: str = "") -> bytes:
    pairs = [f"{k}={v}" for k, v in ROUTE_FIELDS[path][1].items() if k != name]
    if name is not None:
        pairs.append(f"{name}={raw}")
    return "&".join(pairs).encode()


def _well_formed(path: str) -> tuple[bytes, str]:
    kind = ROUTE_FIELDS[path][0][0]
    if kind == "json":
        return json.dumps(ROUTE_FIELDS[path][1]).encode(), kind
    return _form_with(path), kind


def _field_cases(kind: str, values: dict[str, str]) -> list[Any]:
    cases = []
    for path, (kinds, _, fields) in ROUTE_FIELDS.items():
        if kind not in kinds:
            continue
        for field in fields:
            for value_id, raw in values.items():
                if field in BOOLEAN_FIELDS and value_id == "boolean":
                    continue  # a boolean is what these members take
                cases.append(pytest.param(path, field, raw, id=f"{path}-{field}-{value_id}"))
    return cases


def test_should_list_the_fields_of_every_post_route_of_the_router() -> None:
    assert {path for _, path in POST_ROUTES} == set(ROUTE_FIELDS)


@pytest.mark.parametrize("value", BAD_URL_VALUES.values(), ids=BAD_URL_VALUES.keys())
@pytest.mark.parametrize(("method", "path"), PATH_ROUTES, ids=[f"{m} {p}" for m, p in PATH_ROUTES])
def test_should_answer_a_malformed_path_parameter_with_a_4xx(
    deployment: Deployment, method: str, path: str, value: str
) -> None:
    body = b"{}" if method == "POST" else None
    _assert_refused(_send(deployment, method, _fill(path, value), body), path)


@pytest.mark.parametrize("value", BAD_URL_VALUES.values(), ids=BAD_URL_VALUES.keys())
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_should_never_answer_a_malformed_query_parameter_with_a_5xx(
    deployment: Deployment, method: str, path: str, value: str
) -> None:
    # RFC 6749 3.1: a parameter a route does not read is ignored; one it reads is refused.
    names = ROUTE_QUERY.get((method, path), ())
    query = "&".join(f"{n}={value}" for n in (*names, "x", value))
    body, kind = _well_formed(path) if method == "POST" else (None, "json")
    response = _send(deployment, method, f"{_fill(path, _NO_SUCH_ID)}?{query}", body, kind)
    _assert_refused(response, path, allow_ok=not names)


@pytest.mark.parametrize("value", BAD_URL_VALUES.values(), ids=BAD_URL_VALUES.keys())
@pytest.mark.parametrize("name", ["limit", "offset"])
def test_should_answer_a_malformed_admin_list_parameter_with_400(
    deployment: Deployment, name: str, value: str
) -> None:
    response = _send(deployment, "GET", f"/admin/users?{name}={value}")
    assert response.status_code == 400, response.text
    _assert_refused(response, "/admin/users")


@pytest.mark.parametrize(("path", "field", "raw"), _field_cases("json", BAD_JSON_VALUES))
def test_should_answer_a_malformed_json_field_with_a_4xx(
    deployment: Deployment, path: str, field: str, raw: str
) -> None:
    target = _fill(path, _NO_SUCH_ID)
    _assert_refused(_send(deployment, "POST", target, _json_with(path, field, raw)), path)


@pytest.mark.parametrize(("path", "field", "raw"), _field_cases("form", BAD_FORM_VALUES))
def test_should_answer_a_malformed_form_field_with_a_4xx(
    deployment: Deployment, path: str, field: str, raw: str
) -> None:
    body = _form_with(path, field, raw)
    _assert_refused(_send(deployment, "POST", path, body, kind="form"), path)


@pytest.mark.parametrize("raw", ['"a\\u0000@example.test"', '"\\u0000"'])
def test_should_refuse_a_nul_in_a_login_email_before_the_database(
    deployment: Deployment, raw: str
) -> None:
    body = f'{{"email": {raw}, "password": "a perfectly long password"}}'.encode()
    response = _send(deployment, "POST", "/auth/login", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_should_answer_a_nul_user_id_with_404(deployment: Deployment) -> None:
    response = _send(deployment, "GET", "/admin/users/%00")
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


def test_should_write_no_raw_invisible_character_into_the_server_log(
    deployment: Deployment,
) -> None:
    for value in INVISIBLE_IN_LOGS:
        response = _send(deployment, "GET", f"/admin/users/evil{value}name")
        assert response.status_code == 404, response.text
        _send(deployment, "GET", f"/no-such-route/evil{value}name")
    log = deployment.server.log()
    assert "evil" in log  # the refusals were logged, with their paths
    for char in ("\u202e", "\u2066", "\u200b", "\x1b", "\x9b", "\u2028"):
        assert char not in log, repr(char)
