"""The account lifecycle's pages (issue 15): sign-up, forgot password, the landings of the
e-mail links (verify an address, reset a password), and, for a signed-in user, change of
address and deletion of the account.

Every page is one form over the shared layout: labelled inputs, the CSRF token, one error
message linked to the inputs with ``aria-describedby`` (and ``role="alert"``), a visible focus
from the layout's style.

The links carry their token in the URL fragment (``#token=…``, ``accounts.links``): browsers
send a fragment neither to the server nor in ``Referer`` (RFC 3986 3.5; Fetch strips it), so
the request log, proxies and other sites never see it. A page cannot read a fragment without
script, so the landings run one constant inline script, allowed by the page's CSP nonce: it
copies the token into the form's hidden input and removes the fragment from the address bar
and the history (``history.replaceState``). The alternative, the token in the query, would
put it in the history and in every ``Referer`` of the landing page. The form is still
submitted by the person (a button): a mail scanner that opens the link spends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import HTMLResponse

from .layout import escape, page_response

__all__ = ["FRAGMENT_SCRIPT", "Field", "form_page", "message_page"]

# Constant (never built from request data): the token of the fragment into the form, then the
# fragment out of the address bar and the history.
FRAGMENT_SCRIPT = (
    "(function(){var m=/^#token=([A-Za-z0-9._~-]+)$/.exec(location.hash);"
    "var t=document.getElementById('token');"
    "if(m&&t){t.value=m[1];}"
    "if(location.hash){history.replaceState(null,'',location.pathname);}})();"
)
_NO_SCRIPT = (
    '<noscript><p class="error">This page needs JavaScript to read the link\'s code. '
    "Turn it on for this site, then open the link again.</p></noscript>"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Field:
    """One labelled input."""

    name: str
    label: str
    type: str
    autocomplete: str
    value: str = ""


def _input(field: Field, *, described: bool, autofocus: bool) -> str:
    aria = ' aria-invalid="true" aria-describedby="form-error"' if described else ""
    value = f' value="{escape(field.value)}"' if field.value else ""
    focus = " autofocus" if autofocus else ""
    return (
        f'<label for="{field.name}">{escape(field.label)}</label>\n'
        f'<input id="{field.name}" name="{field.name}" type="{field.type}" '
        f'autocomplete="{field.autocomplete}" required{value}{aria}{focus}>'
    )


def form_page(
    *,
    title: str,
    lead: str,
    action: str,
    csrf_token: str,
    fields: tuple[Field, ...],
    button: str,
    error: str | None = None,
    link_token: bool = False,
    links: tuple[tuple[str, str], ...] = (),
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A form page. ``link_token``: the landing of an e-mail link (a hidden ``token`` input
    filled from the fragment by ``FRAGMENT_SCRIPT``); ``links``: (href, text) under the form."""
    inputs = "\n".join(
        _input(f, described=error is not None, autofocus=i == 0) for i, f in enumerate(fields)
    )
    token = '<input type="hidden" id="token" name="token" value="">' if link_token else ""
    alert = f'<p id="form-error" class="error" role="alert">{escape(error)}</p>' if error else ""
    below = "".join(
        f'<p class="notice"><a href="{escape(href)}">{escape(text)}</a></p>' for href, text in links
    )
    body = (
        f'<h1>{escape(title)}</h1>\n<p class="lead">{escape(lead)}</p>\n'
        f"{_NO_SCRIPT if link_token else ''}"
        f'<form method="post" action="{escape(action)}" novalidate>\n'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">\n'
        f"{token}\n{inputs}\n{alert}\n"
        f'<button type="submit">{escape(button)}</button>\n</form>\n{below}'
    )
    return page_response(
        title=title,
        body=body,
        status=status,
        headers=headers,
        script=FRAGMENT_SCRIPT if link_token else None,
    )


def message_page(
    *, title: str, message: str, links: tuple[tuple[str, str], ...] = (), status: int = 200
) -> HTMLResponse:
    """The page after a form: what happened (``role="status"``), and where to go next."""
    below = "".join(
        f'<p class="notice"><a href="{escape(href)}">{escape(text)}</a></p>' for href, text in links
    )
    body = f'<h1>{escape(title)}</h1>\n<p class="lead" role="status">{escape(message)}</p>\n{below}'
    return page_response(title=title, body=body, status=status)
