"""The web-app SDK for Starlette and FastAPI.

    >>> webapp = WebApp(settings)                            # doctest: +SKIP
    >>> webapp.install(app)   # /login, /callback, /logout, the session middleware, the pages
    >>> @app.get("/me")                                      # doctest: +SKIP
    ... async def me(user: WebUser = Depends(require_user)): ...

``require_user`` is a FastAPI dependency and, in plain Starlette, an ``await``-able helper
(``user = await require_user(request)``). It gives the verified user; when the access token is
expired or within ``refresh_margin`` of it, the session is refreshed first (once per session,
however many requests arrive together) and the new cookie goes out with the response; with
a server-side store, a session signed out while it was being refreshed stays signed out (the
refresh only replaces its record), and the request is treated as having no session. A
session the provider refuses ends with a clear page (401) and its cookie cleared; a provider
that is down is a 503 and the session stays. A visitor without a session is sent to sign in
(303 for GET and HEAD, 401 otherwise).

``csrf_protect`` guards the application's own state-changing routes (``csrf.py``) and
``csrf_token(request)`` gives the token to put in their forms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import SessionEndedError, StoreUnavailableError, WebSessionError
from .client import SESSION_COOKIE, RelyingParty
from .csrf import CSRF_FIELD, CSRF_HEADER
from .pages import (
    clear_cookie,
    error_page,
    page_headers,
    set_cookie,
    sign_in_page,
    sign_out_page,
)
from .session import WebSession, WebUser
from .settings import WebAppSettings

__all__ = [
    "SignInRequired",
    "WebApp",
    "WebSessionMiddleware",
    "csrf_protect",
    "csrf_token",
    "current_session",
    "current_user",
    "require_user",
]

_KEY = "jwtwarden.webapp"
_NEEDLE = SESSION_COOKIE.encode("ascii")
_NO_STORE = {"Cache-Control": "no-store"}


class SignInRequired(Exception):
    """Raised by ``require_user`` for a visitor with no session (handled by ``WebApp``)."""


class _RequestState:
    """One request's view of its session; the middleware writes the cookies it decided."""

    __slots__ = ("checked", "cookies", "read", "rp", "session", "unavailable")

    def __init__(
        self,
        rp: RelyingParty,
        session: WebSession | None,
        unavailable: StoreUnavailableError | None = None,
    ) -> None:
        self.rp = rp
        self.session = session
        # The store could not answer: a page that needs the session answers 503 (raised
        # where the exception handlers see it, not in this middleware).
        self.unavailable = unavailable
        self.checked = False
        self.read = False
        self.cookies: list[str] = []

    async def replace(self, session: WebSession) -> None:
        # SessionTooLargeError (and a store's StoreUnavailableError) here, not later.
        self._keep(session, await self.rp.aseal_session(session))

    async def replace_refreshed(self, session: WebSession) -> bool:
        """Keep the session this request refreshed; ``False`` if it was signed out during the
        refresh (its record is gone, and stays gone): the request has no session now."""
        sealed = await self.rp.aseal_refreshed(session)
        if sealed is None:
            await self.clear(None)
            return False
        self._keep(session, sealed)
        return True

    def _keep(self, session: WebSession, sealed: tuple[str, int]) -> None:
        self.session = session
        self.checked = True
        self.cookies.append(set_cookie(SESSION_COOKIE, *sealed))

    async def clear(self, ended: WebSession | None) -> None:
        """Sign the browser out; with a server-side store, the session ``ended`` is deleted."""
        self.session = None
        self.checked = True
        self.cookies.append(clear_cookie(SESSION_COOKIE))
        if ended is not None and self.rp.jar.store is not None:
            await self.rp.adelete_session(ended.sid)


def session_cookie(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session cookie's value among the request's ``Cookie`` headers (the last one), read
    as Starlette's parser splits them, without parsing the other cookies."""
    value = None
    for name, raw in headers:
        if name == b"cookie" and _NEEDLE in raw:
            for chunk in raw.decode("latin-1").split(";"):
                key, sep, found = chunk.partition("=")
                if sep and key.strip() == SESSION_COOKIE:
                    value = found.strip()
    return value


_Endpoint = Callable[[Request], Awaitable[Response]]
_Handler = Callable[[Request, Exception], Awaitable[Response]]


class WebSessionMiddleware:
    """Pure ASGI middleware: opens the session cookie, answers the SDK's own routes
    (``routes``: path -> (methods, endpoint, error handler)), and writes the cookies the
    request changed (and ``Cache-Control: no-store`` once a page read the user) on the
    response.

    The SDK's routes are answered here rather than added to the application's router: a
    router tries its routes in order, and three more in front of every page of the
    application were a cost on every request (bench/webapp_bench.py).
    """

    def __init__(
        self,
        app: ASGIApp,
        rp: RelyingParty,
        routes: Mapping[str, tuple[frozenset[str], _Endpoint, _Handler]] | None = None,
    ) -> None:
        self.app = app
        self.rp = rp
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = session_cookie(scope["headers"])
        session, unavailable = None, None
        if raw is not None:
            try:
                session = await self.rp.aopen_session(raw)
            except StoreUnavailableError as exc:
                unavailable = exc
        state = _RequestState(self.rp, session, unavailable)
        scope[_KEY] = state

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and (state.cookies or state.read):
                headers = list(message.get("headers", []))
                headers += [(b"set-cookie", c.encode("latin-1")) for c in state.cookies]
                if state.read:
                    # A page showing the user must not come back from a cache (back button).
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        route = self.routes.get(scope["path"])
        if route is None:
            await self.app(scope, receive, send_with_cookies)
            return
        methods, endpoint, handler = route
        request = Request(scope, receive)
        if scope["method"] not in methods:
            allow = ", ".join(sorted(methods))
            response: Response = PlainTextResponse(
                "Method Not Allowed", status_code=405, headers={"Allow": allow}
            )
        else:
            try:
                response = await endpoint(request)
            except (WebSessionError, StoreUnavailableError) as exc:
                response = await handler(request, exc)
        await response(scope, receive, send_with_cookies)


def _state(conn: HTTPConnection) -> _RequestState:
    state = conn.scope.get(_KEY)
    if not isinstance(state, _RequestState):
        raise RuntimeError("WebApp.install(app) adds the session middleware; it is missing")
    return state


async def current_session(conn: HTTPConnection) -> WebSession | None:
    """The request's session, refreshed if due and checked; ``None`` when signed out.

    Raises:
        SessionEndedError: the provider refused the refresh (the cookie is cleared).
        ProviderUnavailableError: the provider is down (answer 503; the session stays).
    """
    state = _state(conn)
    state.read = True
    if state.unavailable is not None:
        raise StoreUnavailableError(
            state.unavailable.detail, driver_error=state.unavailable.driver_error
        )
    if state.session is None or state.checked:
        return state.session
    try:
        fresh = await state.rp.aauthenticate(state.session)
    except SessionEndedError:
        await state.clear(state.session)
        raise
    if fresh is not state.session and not await state.replace_refreshed(fresh):
        return None  # signed out during the refresh: as a deleted session is
    state.checked = True
    return fresh


async def current_user(conn: HTTPConnection) -> WebUser | None:
    """The signed-in user, or ``None`` (see ``current_session`` for refresh and errors)."""
    session = await current_session(conn)
    return None if session is None else session.user


async def require_user(request: Request) -> WebUser:
    """The signed-in user (a FastAPI dependency; ``await require_user(request)`` elsewhere).

    Raises:
        SignInRequired: nobody is signed in (``WebApp`` redirects to sign-in).
    """
    user = await current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def csrf_token(conn: HTTPConnection) -> str:
    """The CSRF token of this request's session, for the forms of the page."""
    state = _state(conn)
    sid = state.session.sid if state.session is not None else ""
    return state.rp.csrf.token(sid)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request from another origin or without the session's CSRF
    token (form field ``csrf_token`` or header ``X-CSRF-Token``). A FastAPI dependency.

    Raises:
        CSRFError: refused (``WebApp`` answers 403).
    """
    state = _state(request)
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    sid = state.session.sid if state.session is not None else None
    state.rp.csrf.check(sid, token, request.headers.get("origin"), request.headers.get("referer"))


class WebApp:
    """Mounts the SDK on a Starlette or FastAPI application.

    Parameters:
        settings: the ``WebAppSettings`` (or pass a ready ``RelyingParty`` as ``rp``).
    """

    def __init__(self, settings: WebAppSettings | None = None, *, rp: RelyingParty | None = None):
        if (settings is None) == (rp is None):
            raise TypeError("give settings or rp")
        self.rp = rp if rp is not None else RelyingParty(settings)  # type: ignore[arg-type]
        if self.rp.jar.store is not None and not self.rp.jar.store_is_async:
            raise TypeError("Starlette and FastAPI need an async WebSessionStore")
        self.settings = self.rp.settings
        self._headers = page_headers(self.settings.provider_origin)

    def _html(self, status: int, body: str) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=self._headers)

    def install(self, app: Starlette) -> None:
        """Add the session middleware (which answers the SDK's routes: sign-in, callback,
        sign-out) and the error pages of the application's own routes to ``app``.

        Middleware added to ``app`` after ``install`` runs around the SDK's routes too;
        middleware added before it runs for the application's routes only.
        """
        s = self.settings
        get, get_post = frozenset({"GET", "HEAD"}), frozenset({"GET", "HEAD", "POST"})
        routes = {
            s.login_path: (get, self.login, self._error),
            s.callback_path: (get, self.callback, self._error),
            s.logout_path: (get_post, self.logout, self._error),
        }
        app.add_middleware(WebSessionMiddleware, rp=self.rp, routes=routes)
        app.add_exception_handler(SignInRequired, self._sign_in_required)
        app.add_exception_handler(WebSessionError, self._error)
        app.add_exception_handler(StoreUnavailableError, self._error)

    async def login(self, request: Request) -> Response:
        """Start a sign-in: set the sign-in cookie, redirect to the provider."""
        start = await self.rp.abegin_sign_in(request.query_params.get("next"))
        response = RedirectResponse(
            start.url, status_code=303, headers={"Cache-Control": "no-store"}
        )
        response.headers.append(
            "set-cookie", set_cookie(start.cookie_name, start.cookie_value, start.max_age)
        )
        return response

    async def callback(self, request: Request) -> Response:
        """Complete the sign-in and go where the user was going."""
        params = dict(request.query_params)
        result = await self.rp.afinish_sign_in(params, request.cookies.get)
        await _state(request).replace(result.session)
        response = RedirectResponse(result.return_to, status_code=303)
        response.headers.append("set-cookie", clear_cookie(result.cookie_name))
        return response

    async def logout(self, request: Request) -> Response:
        """GET: the confirmation form. POST (CSRF-checked): end the session here, revoke its
        refresh token, and sign out at the provider (RP-Initiated Logout)."""
        state = _state(request)
        if request.method == "GET":
            if state.session is None:
                return RedirectResponse(self.settings.after_logout_path, status_code=303)
            return self._html(200, sign_out_page(self.settings.logout_path, csrf_token(request)))
        await csrf_protect(request)
        session = state.session
        if session is not None:
            await self.rp.arevoke(session)
        await state.clear(session)
        return RedirectResponse(self.rp.end_session_url(session), status_code=303)

    async def _sign_in_required(self, request: Request, exc: Exception) -> Response:
        if request.method in ("GET", "HEAD"):
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target = f"{self.settings.login_path}?next={quote(path, safe='')}"
            return RedirectResponse(target, status_code=303, headers=_NO_STORE)
        return self._html(401, sign_in_page(self.settings.login_path))

    async def _error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebSessionError | StoreUnavailableError)
        status, body = error_page(exc, self.settings.login_path)
        response = self._html(status, body)
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response
