"""Browser sessions on the images surface: the cookie, the CSRF origin check, and who is calling.

Cookie-authenticated requests that change state must come from a page of our own: their
`Origin` (or, lacking it, `Referer`) has to name the request's own host, `public_base_url`, or
one of `allowed_origins`. Browsers attach `Origin` to every cross-site POST/PUT/PATCH/DELETE, so
a request with neither header is taken to come from a non-browser client (curl, a script), which
a forged page cannot make a victim's browser send. `Origin: null` is refused. Requests that
carry an API key in `Authorization: Bearer` are exempt: a browser never adds that header on its
own.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request, Response

from exif_service.api.auth import bearer_key
from exif_service.domain.accounts import Account
from exif_service.domain.errors import Forbidden, Unauthorized
from exif_service.services.accounts import account_for_token, key_owner
from exif_service.settings import get_settings

SESSION_COOKIE = "exs_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
CSRF_MESSAGE = "Cross-site request refused: the Origin of this request is not allowed."


def session_token(request: Request) -> str | None:
    """The raw session token from the cookie, if any."""
    return request.cookies.get(SESSION_COOKIE) or None


def account_from_session(request: Request) -> Account | None:
    """The signed-in account behind the session cookie, or None without a live session.

    Raises Forbidden when the session would authorise an unsafe-method request whose origin
    is not ours (CSRF).
    """
    found = account_for_token(session_token(request))
    if found is None:
        return None
    if request.method.upper() not in _SAFE_METHODS:
        require_same_origin(request)
    return found[0]


def session_expiry(request: Request) -> tuple[Account, datetime] | None:
    """The signed-in account and when its session ends (for get-session)."""
    return account_for_token(session_token(request))


def images_account(request: Request) -> Account:
    """Bearer API key (its owner must be on Pro), else the session (any plan), else 401."""
    raw = bearer_key(request)
    if raw is not None:
        return key_owner(raw)
    account = account_from_session(request)
    if account is None:
        raise Unauthorized("Unauthorized: sign in or send a valid API key.")
    return account


def session_account(request: Request) -> Account:
    """The signed-in account (browser session only, as the dashboard calls use), else 401."""
    account = account_from_session(request)
    if account is None:
        raise Unauthorized("Unauthorized: sign in first.")
    return account


def require_same_origin(request: Request) -> None:
    """Refuse a browser request sent from a page on another origin (403)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return  # not a browser: browsers send Origin on cross-site unsafe requests
        origin = referer
    if _normalised_origin(origin) not in _trusted_origins(request):
        raise Forbidden(CSRF_MESSAGE)


def _trusted_origins(request: Request) -> set[str]:
    settings = get_settings()
    # the own host under either scheme: a TLS-terminating proxy may not say which was used
    trusted = {_normalised_origin(f"{scheme}://{_host(request)}") for scheme in _DEFAULT_PORTS}
    extra = [o for o in settings.allowed_origins.split(",") if o.strip()]
    if settings.public_base_url:
        extra.append(settings.public_base_url)
    trusted.update(_normalised_origin(o) for o in extra)
    trusted.discard("")
    return trusted


def _normalised_origin(url: str) -> str:
    """`scheme://host[:port]` in lower case with the default port dropped; "" if unusable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _host(request: Request) -> str:
    return request.headers.get("host") or request.url.netloc


def _scheme(request: Request) -> str:
    # X-Forwarded-Proto is anyone's to write, so it is not read here: on Lambda, Mangum takes the
    # scheme from API Gateway's header, and locally uvicorn does so only for the proxies listed
    # in the forwarded_allow_ips setting.
    return request.url.scheme


def is_https(request: Request) -> bool:
    return _scheme(request) == "https"


def set_session_cookie(
    response: Response, request: Request, token: str, expires_at: datetime
) -> None:
    """Put the session token in an HttpOnly, SameSite=Lax cookie (Secure over HTTPS)."""
    max_age = max(0, int((expires_at - datetime.now(expires_at.tzinfo)).total_seconds()))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        expires=expires_at,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
