"""The jwtwarden error tree.

Every refusal is an exception with a stable ``code``; codes are API, messages are not.
A bad *call* (a policy that cannot be safe, a wrong argument type) raises ``TypeError`` or
``ValueError``; a bad *token*, *key* or *claim set* raises one of these::

    JWTWardenError                          base, never raised itself
    +-- InvalidTokenError                   the token is refused (verification)
    |   +-- MalformedTokenError             malformed
    |   +-- UnsupportedSerializationError   unsupported_serialization (JWE, JWS JSON)
    |   +-- TokenTooLargeError              token_too_large
    |   +-- AlgorithmNotAllowedError        algorithm_not_allowed
    |   +-- UnknownKeyError                 unknown_key
    |   +-- ForbiddenHeaderError            forbidden_header (jku, x5u, jwk, x5c, ...)
    |   +-- UnsupportedCriticalHeaderError  unsupported_critical_header
    |   +-- BadSignatureError               bad_signature
    |   +-- RevokedTokenError               revoked
    |   +-- ClaimError                      carries ``claim`` and ``reason``
    |       +-- ExpiredTokenError           expired
    |       +-- NotYetValidError            not_yet_valid
    |       +-- IssuedInFutureError         issued_in_future
    |       +-- TokenTooOldError            too_old
    |       +-- WrongIssuerError            wrong_issuer
    |       +-- WrongAudienceError          wrong_audience
    |       +-- WrongTypeError              wrong_type
    |       +-- MissingClaimError           missing_claim
    |       +-- InvalidClaimError           invalid_claim
    +-- KeyRejectedError                    a key is refused at load or generation
    |   +-- WeakKeyError                    weak_key (below the strength floor)
    |   +-- InvalidKeyError                 invalid_key (malformed, wrong curve, bad exponent)
    |   |   +-- AmbiguousKeyError           ambiguous_key (no alg; several allowed ones fit)
    |   +-- KeyEnvironmentError             wrong_environment
    +-- IssueError                          minting is refused
    |   +-- ClaimLintError                  claim_refused (secrets in claims, reserved names)
    |   +-- TokenBudgetError                token_over_budget
    |   +-- NoSigningKeyError               no_signing_key
    |   +-- ClaimsHookError                 claims_hook_failed (raised, timed out, bad output)
    +-- RevocationUnavailableError          revocation_unavailable (a hook could not answer)
    +-- SessionError                        the session service refuses (auth server)
    |   +-- InvalidCredentialsError         invalid_credentials (login; never says which check)
    |   +-- InvalidRefreshTokenError        invalid_refresh_token (unknown, expired, ended)
    |   +-- RefreshTokenReuseError          refresh_token_reused (spent token: session revoked)
    |   +-- InvalidScopeError               invalid_scope (more than the session was granted)
    |   +-- RateLimitedError                rate_limited (carries ``retry_after`` seconds)
    |   +-- PasswordPolicyError             weak_password
    |   +-- UserExistsError                 user_exists
    |   +-- UserNotFoundError               user_not_found (admin, CLI)
    |   +-- UnknownRoleError                unknown_role (not in the configured roles)
    |   +-- InvalidLinkError                invalid_link (an account e-mail link: bad, used, old)
    |   +-- SignupDisabledError             signup_disabled
    +-- OAuthRequestError                   the token endpoint refuses (RFC 6749 5.2 codes)
    |   +-- InvalidClientError              invalid_client (carries ``header_used``)
    |   +-- UnauthorizedClientError         unauthorized_client (grant not allowed to it)
    |   +-- UnsupportedGrantTypeError       unsupported_grant_type
    |   +-- InvalidGrantError               invalid_grant (code, assertion, refresh binding)
    |   +-- InvalidOAuthRequestError        invalid_request (missing or repeated parameter)
    |   +-- InvalidTargetError              invalid_target (RFC 8707 resource not allowed)
    +-- ClientRegistryError                 the client registry refuses (admin, CLI)
    |   +-- ClientNotFoundError             client_not_found
    +-- KeyStoreError                       key_store (unreadable, undecryptable, locked)
    +-- StoreUnavailableError               store_unavailable (a database or Redis cannot answer)
    +-- JWKSFetchError                      jwks_fetch_failed
    |   +-- FetchRefusedError               fetch_refused (the SSRF guard said no)
    +-- TokenRefreshError                   token_refresh_failed (client side, RFC 6749 6)
    |   +-- RefreshTokenRejectedError       refresh_token_rejected (invalid_grant)
    +-- WebSessionError                     web_session (the web-app SDK, jwtwarden.webapp)
        +-- SignInError                     sign_in_failed (state, iss, code exchange, ID token)
        +-- SessionEndedError               session_ended (the provider refused the refresh)
        +-- ProviderUnavailableError        provider_unavailable (down or unusable: HTTP 503)
        +-- SessionTooLargeError            session_too_large (over a cookie's 4 KB)
        +-- CSRFError                       csrf_refused (Origin or token check failed)

The verifier lets nothing else escape, for any input.

Size: one module past 400 lines by design, as httpx keeps its whole hierarchy in
``_exceptions.py``: the tree above is one list of short classes, one per stable code, and
splitting it would scatter the codes a reader looks up together.
"""

from __future__ import annotations

__all__ = [
    "AlgorithmNotAllowedError",
    "AmbiguousKeyError",
    "BadSignatureError",
    "CSRFError",
    "ClaimError",
    "ClaimLintError",
    "ClaimsHookError",
    "ClientNotFoundError",
    "ClientRegistryError",
    "ExpiredTokenError",
    "FetchRefusedError",
    "ForbiddenHeaderError",
    "InvalidClaimError",
    "InvalidClientError",
    "InvalidCredentialsError",
    "InvalidGrantError",
    "InvalidKeyError",
    "InvalidLinkError",
    "InvalidOAuthRequestError",
    "InvalidRefreshTokenError",
    "InvalidScopeError",
    "InvalidTargetError",
    "InvalidTokenError",
    "IssueError",
    "IssuedInFutureError",
    "JWKSFetchError",
    "JWTWardenError",
    "KeyEnvironmentError",
    "KeyRejectedError",
    "KeyStoreError",
    "MalformedTokenError",
    "MissingClaimError",
    "NoSigningKeyError",
    "NotYetValidError",
    "OAuthRequestError",
    "PasswordPolicyError",
    "ProviderUnavailableError",
    "RateLimitedError",
    "RefreshTokenRejectedError",
    "RefreshTokenReuseError",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "SessionEndedError",
    "SessionError",
    "SessionTooLargeError",
    "SignInError",
    "SignupDisabledError",
    "StoreUnavailableError",
    "TokenBudgetError",
    "TokenRefreshError",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnauthorizedClientError",
    "UnknownKeyError",
    "UnknownRoleError",
    "UnsupportedCriticalHeaderError",
    "UnsupportedGrantTypeError",
    "UnsupportedSerializationError",
    "UserExistsError",
    "UserNotFoundError",
    "WeakKeyError",
    "WebSessionError",
    "WrongAudienceError",
    "WrongIssuerError",
    "WrongTypeError",
    "error_codes",
]


class JWTWardenError(Exception):
    """Base of every jwtwarden error. ``code`` is stable; ``detail`` is for humans."""

    code: str = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


# --- verification ---------------------------------------------------------------------------


class InvalidTokenError(JWTWardenError):
    """The token is refused. Subclasses name the reason."""

    code = "invalid_token"


class MalformedTokenError(InvalidTokenError):
    code = "malformed"


class UnsupportedSerializationError(InvalidTokenError):
    code = "unsupported_serialization"


class TokenTooLargeError(InvalidTokenError):
    code = "token_too_large"


class AlgorithmNotAllowedError(InvalidTokenError):
    code = "algorithm_not_allowed"


class UnknownKeyError(InvalidTokenError):
    code = "unknown_key"


class ForbiddenHeaderError(InvalidTokenError):
    code = "forbidden_header"


class UnsupportedCriticalHeaderError(InvalidTokenError):
    code = "unsupported_critical_header"


class BadSignatureError(InvalidTokenError):
    code = "bad_signature"


class RevokedTokenError(InvalidTokenError):
    code = "revoked"


class RevocationUnavailableError(JWTWardenError):
    """A revocation check (denylist, auth version) could not answer; the token is refused.

    Not an ``InvalidTokenError``: the token may be fine, the service is not (HTTP 503).
    """

    code = "revocation_unavailable"


class ClaimError(InvalidTokenError):
    """A claim is missing or wrong. ``claim`` names it; ``reason`` is a short machine word."""

    code = "invalid_claim"

    def __init__(self, detail: str, *, claim: str, reason: str) -> None:
        super().__init__(detail)
        self.claim = claim
        self.reason = reason


class ExpiredTokenError(ClaimError):
    code = "expired"


class NotYetValidError(ClaimError):
    code = "not_yet_valid"


class IssuedInFutureError(ClaimError):
    code = "issued_in_future"


class TokenTooOldError(ClaimError):
    code = "too_old"


class WrongIssuerError(ClaimError):
    code = "wrong_issuer"


class WrongAudienceError(ClaimError):
    code = "wrong_audience"


class WrongTypeError(ClaimError):
    code = "wrong_type"


class MissingClaimError(ClaimError):
    code = "missing_claim"


class InvalidClaimError(ClaimError):
    code = "invalid_claim"


# --- keys -----------------------------------------------------------------------------------


class KeyRejectedError(JWTWardenError):
    """A key is refused at import or generation."""

    code = "key_rejected"


class WeakKeyError(KeyRejectedError):
    code = "weak_key"


class InvalidKeyError(KeyRejectedError):
    code = "invalid_key"


class AmbiguousKeyError(InvalidKeyError):
    """A key without ``alg`` whose type fits several allowed algorithms (RSA with RS256 and
    PS256): refused rather than guessed (RFC 8725 3.1). An ``InvalidKeyError``, so existing
    handlers keep catching it; its own code lets a caller tell "name one algorithm" apart."""

    code = "ambiguous_key"


class KeyEnvironmentError(KeyRejectedError):
    code = "wrong_environment"


class KeyStoreError(JWTWardenError):
    code = "key_store"


class StoreUnavailableError(JWTWardenError):
    """A storage backend (PostgreSQL, SQLite, Redis) cannot answer now: the connection is lost
    or refused, a timeout or a lock timeout passed, the pool is exhausted.

    Each adapter in ``jwtwarden.stores`` raises it in place of its driver's errors, so no layer
    above imports a driver; the auth server answers 503 with ``Retry-After``. ``driver_error``
    names the driver's exception type for the log; its message is never kept (a driver's
    message may quote the statement's parameters).
    """

    code = "store_unavailable"

    def __init__(self, detail: str, *, driver_error: str) -> None:
        super().__init__(detail)
        self.driver_error = driver_error


# --- issuing --------------------------------------------------------------------------------


class IssueError(JWTWardenError):
    code = "issue_refused"


class ClaimLintError(IssueError):
    """A claim looks like a secret, or tries to override a reserved claim."""

    code = "claim_refused"

    def __init__(self, detail: str, *, claim: str, reason: str) -> None:
        super().__init__(detail)
        self.claim = claim
        self.reason = reason


class TokenBudgetError(IssueError):
    code = "token_over_budget"


class NoSigningKeyError(IssueError):
    code = "no_signing_key"


class ClaimsHookError(IssueError):
    """The claims hook (``JWTWARDEN_CLAIMS_HOOK``) raised, timed out, or returned claims that
    are not a JSON object, override a registered claim, fail the claim lint or the size
    budget: the token is not issued (never issued without the claims)."""

    code = "claims_hook_failed"


# --- sessions (the auth server) -------------------------------------------------------------


class SessionError(JWTWardenError):
    """The session service refuses a login, a refresh or a change."""

    code = "session_refused"


class InvalidCredentialsError(SessionError):
    """Login failed. Deliberately one error for every cause (unknown email, wrong password,
    disabled account): the answer must not tell an attacker which accounts exist."""

    code = "invalid_credentials"


class InvalidRefreshTokenError(SessionError):
    """The refresh token is unknown, expired, or its session has ended."""

    code = "invalid_refresh_token"


class RefreshTokenReuseError(SessionError):
    """A spent refresh token was presented again (RFC 6819 5.2.2.3): the whole session
    (every refresh token of the family and its live access tokens) has been revoked."""

    code = "refresh_token_reused"


class InvalidScopeError(SessionError):
    """The requested scope is unknown or wider than the session was granted (RFC 6749 6)."""

    code = "invalid_scope"


class RateLimitedError(SessionError):
    """Too many attempts; ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PasswordPolicyError(SessionError):
    """A new password does not meet the password policy."""

    code = "weak_password"


class UserExistsError(SessionError):
    """An account with this email already exists."""

    code = "user_exists"


class UserNotFoundError(SessionError):
    """No account has this id (the admin API and the CLI; never a login answer)."""

    code = "user_not_found"


class InvalidLinkError(SessionError):
    """An account e-mail link (reset, verification) is malformed, expired, of another purpose,
    or no longer matches the account (used, superseded). One error for every cause."""

    code = "invalid_link"


class SignupDisabledError(SessionError):
    """Self-service sign-up is off (``JWTWARDEN_SIGNUP``)."""

    code = "signup_disabled"


class UnknownRoleError(SessionError):
    """A role that the configuration (``JWTWARDEN_ROLES``) does not define."""

    code = "unknown_role"


# --- OAuth 2 (the token endpoint and the client registry) ---------------------------------


class OAuthRequestError(JWTWardenError):
    """An OAuth request is refused; ``code`` is the RFC 6749 5.2 ``error`` the server sends."""

    code = "oauth_refused"


class InvalidClientError(OAuthRequestError):
    """Client authentication failed: unknown client, wrong secret, bad assertion, two methods
    in one request, credentials sent for a public client, or a disabled client (one answer for
    all). ``header_used`` says whether the request used the Authorization header: RFC 6749 5.2
    then requires a 401 with ``WWW-Authenticate``."""

    code = "invalid_client"

    def __init__(self, detail: str, *, header_used: bool = False) -> None:
        super().__init__(detail)
        self.header_used = header_used


class UnauthorizedClientError(OAuthRequestError):
    """The authenticated client may not use this grant type (RFC 6749 5.2)."""

    code = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthRequestError):
    """The server does not offer this grant type (RFC 6749 5.2)."""

    code = "unsupported_grant_type"


class InvalidGrantError(OAuthRequestError):
    """The grant (code, refresh token, assertion) is invalid, expired, revoked, or was issued
    to another client (RFC 6749 5.2)."""

    code = "invalid_grant"


class InvalidOAuthRequestError(OAuthRequestError):
    """A parameter is missing, repeated, malformed or not allowed (RFC 6749 5.2)."""

    code = "invalid_request"


class InvalidTargetError(OAuthRequestError):
    """The requested ``resource`` is not one the client may obtain tokens for (RFC 8707 2)."""

    code = "invalid_target"


class ClientRegistryError(JWTWardenError):
    """The client registry refuses an operation (admin API, CLI)."""

    code = "client_registry"


class ClientNotFoundError(ClientRegistryError):
    """No client has this ``client_id``."""

    code = "client_not_found"


# --- remote key sets ------------------------------------------------------------------------


class JWKSFetchError(JWTWardenError):
    """A key set or discovery document could not be fetched; ``status`` is the HTTP status
    when the server answered with one other than 200 (``None`` otherwise)."""

    code = "jwks_fetch_failed"

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.status = status


class FetchRefusedError(JWKSFetchError):
    code = "fetch_refused"


# --- client side: refreshing access tokens ---------------------------------------------------


class TokenRefreshError(JWTWardenError):
    """A client could not refresh its access token (network, server error, bad response)."""

    code = "token_refresh_failed"


class RefreshTokenRejectedError(TokenRefreshError):
    """The token endpoint answered ``invalid_grant``: the refresh token is revoked, expired or
    was already used. The client must sign in again; it never retries the same token."""

    code = "refresh_token_rejected"


# --- the web-app SDK (jwtwarden.webapp) ------------------------------------------------------


class WebSessionError(JWTWardenError):
    """The web-app SDK refuses a sign-in, a session or a request."""

    code = "web_session"


class SignInError(WebSessionError):
    """A sign-in could not complete: ``state`` unknown or expired, ``iss`` of another provider
    (RFC 9207), the provider answered an error, or the ID token failed verification."""

    code = "sign_in_failed"


class SessionEndedError(WebSessionError):
    """The provider refused the session's refresh token (``invalid_grant``: reused, revoked,
    expired): the session is over and the user must sign in again."""

    code = "session_ended"


class ProviderUnavailableError(WebSessionError):
    """The OpenID provider is down or answered something unusable: a 503, never a sign-out."""

    code = "provider_unavailable"


class SessionTooLargeError(WebSessionError):
    """The session does not fit a cookie (browsers keep about 4 KB): keep fewer claims, or use
    a server-side session store."""

    code = "session_too_large"


class CSRFError(WebSessionError):
    """A state-changing request failed the Origin check or carried no valid CSRF token."""

    code = "csrf_refused"


def error_codes() -> dict[str, type[JWTWardenError]]:
    """Every stable code and the class that carries it (for docs and tests)."""
    out: dict[str, type[JWTWardenError]] = {}
    stack: list[type[JWTWardenError]] = [JWTWardenError]
    while stack:
        cls = stack.pop()
        current = out.get(cls.code)
        # ClaimError and InvalidClaimError share "invalid_claim": name the one that is raised.
        if current is None or issubclass(cls, current):
            out[cls.code] = cls
        stack.extend(cls.__subclasses__())
    return out
