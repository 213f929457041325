"""The web-app SDK for Flask: the same routes, session cookie, refresh and pages as the
Starlette edge, over the ``RelyingParty``'s sync driver (a threaded server's concurrent
requests of one session share one refresh, as tasks do).

    >>> webapp = FlaskWebApp(settings)       # doctest: +SKIP
    >>> webapp.init_app(app)                 # /login, /callback, /logout and the hooks
    >>> @app.get("/me")                      # doctest: +SKIP
    ... @require_user
    ... def me(user: WebUser): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote

from flask import Flask, Response, g, redirect, request

from ..errors import SessionEndedError, StoreUnavailableError, WebSessionError
from .client import SESSION_COOKIE, RelyingParty
from .csrf import CSRF_FIELD, CSRF_HEADER
from .pages import clear_cookie, error_page, page_headers, set_cookie, sign_in_page, sign_out_page
from .session import WebSession, WebUser
from .settings import WebAppSettings

__all__ = ["FlaskWebApp", "csrf_protect", "csrf_token", "current_user", "require_user"]

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    __slots__ = ("checked", "cookies", "read", "session")

    def __init__(self, session: WebSession | None) -> None:
        self.session = session
        self.checked = False
        self.read = False
        self.cookies: list[str] = []


def _webapp() -> FlaskWebApp:
    webapp = g.get("jwtwarden_webapp")
    if not isinstance(webapp, FlaskWebApp):
        raise RuntimeError("FlaskWebApp.init_app(app) installs the session hooks; it is missing")
    return webapp


def _state() -> _State:
    _webapp()
    state: _State = g.jwtwarden_session
    return state


def current_session() -> WebSession | None:
    """The request's session, refreshed if due and checked (see ``starlette.current_session``)."""
    webapp, state = _webapp(), _state()
    state.read = True
    if state.session is None or state.checked:
        return state.session
    try:
        fresh = webapp.rp.authenticate(state.session)
    except SessionEndedError:
        webapp.clear(state, state.session)
        raise
    if fresh is not state.session and not webapp.replace_refreshed(state, fresh):
        return None  # signed out during the refresh: as a deleted session is
    state.checked = True
    return fresh


def current_user() -> WebUser | None:
    """The signed-in user, or ``None``."""
    session = current_session()
    return None if session is None else session.user


def require_user(view: F) -> F:
    """Decorator: the view gets ``user`` (a ``WebUser``) as a keyword; a visitor without a
    session is sent to sign in (303 for GET and HEAD, 401 otherwise)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            webapp = _webapp()
            if request.method in ("GET", "HEAD"):
                here = quote(request.full_path.rstrip("?"), safe="")
                target = f"{webapp.settings.login_path}?next={here}"
                return redirect(target, code=303)
            return webapp.html(401, sign_in_page(webapp.settings.login_path))
        return view(*args, user=user, **kwargs)

    return cast(F, wrapper)


def csrf_token() -> str:
    """The CSRF token of this request's session, for the page's forms."""
    state = _state()
    return _webapp().rp.csrf.token(state.session.sid if state.session else "")


def csrf_protect() -> None:
    """Refuse a state-changing request from another origin or without the CSRF token.

    Raises:
        CSRFError: refused (answered 403 by the installed handler).
    """
    state = _state()
    token = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    sid = state.session.sid if state.session is not None else None
    _webapp().rp.csrf.check(sid, token, request.headers.get("Origin"), request.referrer)


class FlaskWebApp:
    """Mounts the SDK on a Flask application (``init_app``)."""

    def __init__(self, settings: WebAppSettings | None = None, *, rp: RelyingParty | None = None):
        if (settings is None) == (rp is None):
            raise TypeError("give settings or rp")
        self.rp = rp if rp is not None else RelyingParty(settings)  # type: ignore[arg-type]
        if self.rp.jar.store is not None and self.rp.jar.store_is_async:
            raise TypeError("Flask needs a SyncWebSessionStore")
        self.settings = self.rp.settings
        self._headers = page_headers(self.settings.provider_origin)

    def init_app(self, app: Flask) -> None:
        """Add the routes, the session hooks and the error pages to ``app``."""
        s = self.settings
        app.before_request(self._before)
        app.after_request(self._after)
        app.add_url_rule(s.login_path, "jwtwarden_login", self.login, methods=["GET"])
        app.add_url_rule(s.callback_path, "jwtwarden_callback", self.callback, methods=["GET"])
        app.add_url_rule(s.logout_path, "jwtwarden_logout", self.logout, methods=["GET", "POST"])
        app.register_error_handler(WebSessionError, self._error)
        app.register_error_handler(StoreUnavailableError, self._error)

    def html(self, status: int, body: str) -> Response:
        return Response(body, status=status, headers=self._headers, mimetype="text/html")

    def replace(self, state: _State, session: WebSession) -> None:
        self._keep(state, session, self.rp.seal_session(session))

    def replace_refreshed(self, state: _State, session: WebSession) -> bool:
        """Keep the session this request refreshed; ``False`` if it was signed out during the
        refresh (its record is gone, and stays gone): the request has no session now."""
        sealed = self.rp.seal_refreshed(session)
        if sealed is None:
            self.clear(state, None)
            return False
        self._keep(state, session, sealed)
        return True

    @staticmethod
    def _keep(state: _State, session: WebSession, sealed: tuple[str, int]) -> None:
        state.session = session
        state.checked = True
        state.cookies.append(set_cookie(SESSION_COOKIE, *sealed))

    def clear(self, state: _State, ended: WebSession | None) -> None:
        """Sign the browser out; with a server-side store, the session ``ended`` is deleted."""
        state.session = None
        state.checked = True
        state.cookies.append(clear_cookie(SESSION_COOKIE))
        if ended is not None and self.rp.jar.store is not None:
            self.rp.delete_session(ended.sid)

    def _before(self) -> None:
        g.jwtwarden_webapp = self
        g.jwtwarden_session = _State(self.rp.open_session(request.cookies.get(SESSION_COOKIE)))

    def _after(self, response: Response) -> Response:
        state: _State | None = g.get("jwtwarden_session")
        if state is None:
            return response
        for cookie in state.cookies:
            response.headers.add("Set-Cookie", cookie)
        if state.read:
            response.headers["Cache-Control"] = "no-store"  # the back button refetches
        return response

    def login(self) -> Any:
        start = self.rp.begin_sign_in(request.args.get("next"))
        response = redirect(start.url, code=303)
        response.headers.add(
            "Set-Cookie", set_cookie(start.cookie_name, start.cookie_value, start.max_age)
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def callback(self) -> Any:
        result = self.rp.finish_sign_in(request.args.to_dict(), request.cookies.get)
        self.replace(_state(), result.session)
        response = redirect(result.return_to, code=303)
        response.headers.add("Set-Cookie", clear_cookie(result.cookie_name))
        return response

    def logout(self) -> Any:
        state = _state()
        if request.method == "GET":
            if state.session is None:
                return redirect(self.settings.after_logout_path, code=303)
            return self.html(200, sign_out_page(self.settings.logout_path, csrf_token()))
        csrf_protect()
        session = state.session
        if session is not None:
            self.rp.revoke(session)
        self.clear(state, session)
        return redirect(self.rp.end_session_url(session), code=303)

    def _error(self, exc: WebSessionError | StoreUnavailableError) -> Response:
        status, body = error_page(exc, self.settings.login_path)
        response = self.html(status, body)
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response
