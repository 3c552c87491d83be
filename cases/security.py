"""The review app's security policy: where it may listen, who is acting, CSRF tokens.

- The app binds to a loopback address unless an access token is configured
  (``MONEYTRAIL_REVIEW_TOKEN``); :func:`check_bind` refuses anything else.
- An analyst signs in with a name (and the access token when one is configured). The session
  cookie holds the name and an HMAC of it under a secret drawn when the app starts, so it cannot
  be forged and ends when the app restarts.
- Every form carries a CSRF token: an HMAC of the session cookie under the same secret. A POST
  without a valid one is refused. The sign-in form uses a per-visit nonce cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field

TOKEN_ENV = "MONEYTRAIL_REVIEW_TOKEN"
SESSION_COOKIE = "moneytrail_analyst"
NONCE_COOKIE = "moneytrail_login"
#: Analyst names: letters, digits, space and ``. _ @ ' -``, 1 to 64 characters.
NAME_PATTERN = re.compile(r"[\w .@'-]{1,64}")
LOOPBACK_NAMES = ("localhost",)


class SecurityConfigError(ValueError):
    """The app was asked to start in an unsafe configuration."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without an access token."""
    if not is_loopback(host) and not token:
        raise SecurityConfigError(
            f"refusing to listen on {host}: set {TOKEN_ENV} to an access token to serve beyond this machine"
        )
    if token is not None and len(token) < 16:
        raise SecurityConfigError(f"{TOKEN_ENV} is too short: use at least 16 characters")


def valid_name(name: str) -> str:
    """The analyst name, stripped; raises ``ValueError`` if it is not acceptable."""
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name) or name.lower() == "sync":
        raise ValueError("a name is 1-64 letters, digits, spaces or . _ @ ' - (and not 'sync')")
    return name


def _same(offered: str, expected: str) -> bool:
    """Constant-time comparison that accepts any text (``compare_digest`` on bytes)."""
    return hmac.compare_digest(offered.encode(), expected.encode())


@dataclass
class Guard:
    """Signs sessions and CSRF tokens with a secret drawn at start; checks the access token."""

    token: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, offered: str) -> bool:
        """Whether ``offered`` is the access token (always true when none is configured)."""
        return self.token is None or _same(offered, self.token)

    def session_cookie(self, name: str) -> str:
        """``<signature>.<base64url name>``: cookie-safe whatever the name holds."""
        encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        return f"{self._sign('session', encoded)}.{encoded}"

    def analyst(self, cookie: str | None) -> str | None:
        """The signed-in analyst's name from the session cookie, or ``None``."""
        signature, _, encoded = (cookie or "").partition(".")
        if not encoded or not _same(signature, self._sign("session", encoded)):
            return None
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()

    def csrf_token(self, cookie: str) -> str:
        return self._sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, offered: str) -> bool:
        return bool(cookie) and _same(offered, self.csrf_token(cookie or ""))

    def login_token(self, nonce: str) -> str:
        return self._sign("login", nonce)

    def login_ok(self, nonce: str | None, offered: str) -> bool:
        return bool(nonce) and _same(offered, self.login_token(nonce or ""))


#: Response headers on every page: no scripts at all, no framing, no sniffing, no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
