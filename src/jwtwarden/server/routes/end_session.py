"""``GET/POST /oauth/logout``: the OpenID Connect end-session endpoint (RP-Initiated Logout
1.0), over the framework-free rules of ``oauth/end_session.py``.

- A valid ``id_token_hint``: the session it names (its ``sid``) ends at once, with its tokens,
  and the browser goes to the registered ``post_logout_redirect_uri`` (``state`` echoed) or to
  the signed-out page.
- No hint: a confirmation page (section 2: the OP "MUST ask the End-User" then). Logging out
  silently on any link would let another site sign the user out (logout CSRF); the page's form
  carries a CSRF token bound to the browser's sign-in session, checked with the ``Origin``.
- Any refusal (a bad hint, an unknown client, an unregistered redirect URI) is an HTML error
  page (400), never a redirect.

Pages are plain HTML with a strict Content-Security-Policy (no script, no inline style),
``frame-ancestors 'none'`` against clickjacking, and never cached.
"""

from __future__ import annotations

import hmac
from html import escape
from urllib.parse import urlsplit

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...oauth.end_session import (
    EndSessionRequest,
    LogoutPlan,
    LogoutRefused,
    plan_logout,
    verify_hint,
)
from ...oauth.signin import SignInSession
from .. import openapi as api
from ..parsing import form_body
from ..runtime import Runtime
from ..signin_sessions import current_signin
from ..signin_state import SIGNIN_COOKIE
from . import runtime_of

__all__ = ["END_SESSION_PATH", "router"]

END_SESSION_PATH = "/oauth/logout"
router = APIRouter()
# Each parameter is bounded (oauth/end_session.py refuses longer ones with its error page).
_S = {"type": "string", "maxLength": 8192}
_PARAMETERS = {
    "id_token_hint": _S,
    "client_id": _S,
    "post_logout_redirect_uri": _S,
    "state": _S,
    "csrf_token": _S,
    "confirm": _S,
}
# Pages (HTML) for the answers of the endpoint itself, JSON for the edge's refusals.
_GET_RESPONSES = api.page_responses(200, 400, *api.STORE, redirects=(303,))
_POST_RESPONSES = api.page_responses(200, 400, 403, *api.EDGE, 415, *api.STORE, redirects=(303,))


@router.get(END_SESSION_PATH, response_class=Response, responses=_GET_RESPONSES)
async def end_session_get(request: Request) -> Response:
    return await _end_session(request, dict(request.query_params), confirmed=False)


@router.post(
    END_SESSION_PATH,
    response_class=Response,
    responses=_POST_RESPONSES,
    openapi_extra=api.form_body(_PARAMETERS),
)
async def end_session_post(request: Request) -> Response:
    form = await form_body(request, allow_empty=True)
    return await _end_session(request, form, confirmed="confirm" in form)


async def _end_session(
    request: Request, parameters: dict[str, str], *, confirmed: bool
) -> Response:
    runtime = runtime_of(request)
    try:
        logout = EndSessionRequest.from_parameters(parameters)
        claims = None
        if logout.id_token_hint is not None:
            claims = verify_hint(
                logout.id_token_hint,
                client_id=logout.client_id,
                issuer=runtime.issuer,
                keys=runtime.ring,
                clock=runtime.clock,
                max_hint_age=float(runtime.settings.refresh_absolute_ttl),
            )
        plan = await plan_logout(logout, clients=runtime.clients, hint_claims=claims)
    except LogoutRefused as refused:
        return _page(
            400,
            "Sign-out failed",
            f"<p>{escape(refused.description)}.</p><p>Nothing was changed.</p>",
        )
    signin = await current_signin(request, runtime)
    if plan.hinted:
        # The RP holds an ID token we signed for it: it may end the session it names.
        if plan.sid is not None:
            await runtime.oidc_sessions.end(plan.sid)
        ended_here = signin is not None and signin.id == plan.sid
        return _finish(runtime, plan, clear_cookie=ended_here)
    if not confirmed:
        return _confirm_page(runtime, request, parameters, plan, signin)
    if not _confirmation_ok(runtime, request, parameters, signin):
        return _forbidden_page()
    if signin is not None:
        await runtime.oidc_sessions.end(signin.id)
    return _finish(runtime, plan, clear_cookie=signin is not None)


def _csrf_token(runtime: Runtime, signin_id: str | None) -> str:
    # Bound to the browser's sign-in session (none: a fixed binding; there is nothing to end).
    return runtime.cookies.csrf_token("end-session\x00" + (signin_id or ""))


def _confirmation_ok(
    runtime: Runtime, request: Request, parameters: dict[str, str], signin: SignInSession | None
) -> bool:
    origin = request.headers.get("origin")
    expected_origin = _origin(runtime.settings.issuer_url)
    token = parameters.get("csrf_token", "")
    expected = _csrf_token(runtime, signin.id if signin is not None else None)
    # Origin: browsers send it on every form POST; a missing one is refused (login CSRF
    # defences, OWASP CSRF cheat sheet), another site's is refused.
    same_token = hmac.compare_digest(token.encode(), expected.encode())
    return origin == expected_origin and same_token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _finish(runtime: Runtime, plan: LogoutPlan, *, clear_cookie: bool) -> Response:
    if plan.redirect_to is not None:
        response = Response(status_code=303, headers={"Location": plan.redirect_to})
        response.headers.update(_page_headers(form_action=None))
    else:
        response = _page(200, "Signed out", "<p>You are signed out.</p>")
    if clear_cookie:
        runtime.signin_state.set_cookie(response, SIGNIN_COOKIE, "", max_age=0)
    return response


def _confirm_page(
    runtime: Runtime,
    request: Request,
    parameters: dict[str, str],
    plan: LogoutPlan,
    signin: SignInSession | None,
) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(parameters[name])}">'
        for name in ("client_id", "post_logout_redirect_uri", "state")
        if parameters.get(name)
    )
    client = plan.client.name if plan.client is not None else None
    who = f" from {escape(client)}" if client else ""
    csrf = escape(_csrf_token(runtime, signin.id if signin is not None else None))
    body = (
        f"<p>Do you want to sign out{who}?</p>"
        f'<form method="post" action="{END_SESSION_PATH}">'
        f'<input type="hidden" name="csrf_token" value="{csrf}">{hidden}'
        '<button type="submit" name="confirm" value="yes">Sign out</button>'
        "</form>"
    )
    redirect_origin = _origin(plan.redirect_to) if plan.redirect_to else None
    return _page(200, "Sign out?", body, form_action=redirect_origin)


def _page_headers(*, form_action: str | None) -> dict[str, str]:
    # CSP form-action also governs the redirect that follows a form submission (CSP 3):
    # the registered post-logout origin is allowed on the confirmation page only.
    targets = "'self'" + (f" {form_action}" if form_action else "")
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def _page(status: int, title: str, body: str, *, form_action: str | None = None) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"{body}</main></body></html>"
    )
    return Response(
        html.encode(),
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers=_page_headers(form_action=form_action),
    )


def _forbidden_page() -> Response:
    """The answer to a confirmation without its CSRF token or Origin (403)."""
    return _page(
        403,
        "Sign-out not confirmed",
        "<p>This sign-out did not come from this server's page. Nothing was changed.</p>",
    )
