"""Security headers, the CSP nonce, the session cookie's ``Secure`` flag, proxies.

Every response carries:

- ``Content-Security-Policy`` (:func:`policy`): scripts only from this site or
  inline with this response's nonce, so a script that slipped into a page
  through data does not run; styles from this site and inline (Folium writes
  ``<style>`` blocks and the legend and popups carry ``style=""`` attributes; a
  nonce cannot cover attributes, and a nonce in ``style-src`` would switch
  ``'unsafe-inline'`` off); images also from ``data:``/``blob:`` (Bootstrap's
  icons, Leaflet) and the base-map tile host when one is configured; no
  plugins, no ``<base>`` elsewhere, forms post only here, and no framing;
- ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``;
- ``X-Content-Type-Options: nosniff``: an uploaded CSV is never run as script;
- ``Referrer-Policy: same-origin``: nothing about this service (its host name,
  a station's code in a map's path, an audit page's filters) goes to another
  host.  The only cross-origin requests the pages make are base-map tiles, and
  an intranet tile server does not ask for a referrer.

Pages mark their inline scripts with ``csp_nonce()`` (a Jinja global); the
Folium pages, whose HTML is generated, go through :func:`nonce_scripts`.  No
``'unsafe-eval'``: Leaflet, its plugins, jQuery and Bootstrap draw without it
(``tests/test_browser.py`` loads the maps under this policy and fails on any
violation).

The session cookie is ``Secure`` according to ``PINGAN_COOKIE_SECURE``
(``auto``: when the request came over HTTPS).  Behind nginx, the request is
HTTPS only if the proxy is believed: ``PINGAN_PROXY_FIX`` (the number of
proxies) applies werkzeug's ``ProxyFix`` to ``X-Forwarded-For`` and
``X-Forwarded-Proto``, so the client's address (in ``audit_log``) and scheme are
the real ones.
"""

from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from gis import config as gis_config
from webmap import hooks

logger = logging.getLogger(__name__)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_SCRIPT_OPEN = re.compile(r"<script\b", re.IGNORECASE)
_SCRIPT_CLOSE = re.compile(r"</script\s*>", re.IGNORECASE)


def csp_nonce() -> str:
    """This response's CSP nonce (made on first use), for ``<script nonce=...>``."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def nonce_scripts(html: str) -> str:
    """Give every ``<script>`` element of a generated page this response's nonce.

    Only the opening tags of script elements are touched; the text inside a
    script is skipped up to its ``</script>``, as a browser parses it.  A
    ``<script`` that arrived as data would be blessed too, so the layers keep
    data out of markup: strings are HTML-escaped and ``</`` is broken up in
    embedded JSON (``gis/layers/base.py``), which ``tests/test_security.py``
    checks with a hostile name.
    """
    nonce = f' nonce="{csp_nonce()}"'
    parts, pos = [], 0
    while match := _SCRIPT_OPEN.search(html, pos):
        parts += [html[pos : match.end()], nonce]
        close = _SCRIPT_CLOSE.search(html, match.end())
        pos = close.end() if close else len(html)
        parts.append(html[match.end() : pos])
    parts.append(html[pos:])
    return "".join(parts)


def policy(nonce: str | None = None) -> str:
    """The Content-Security-Policy of a response (with ``nonce``, if one was used)."""
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    images = " ".join(["'self'", "data:", "blob:", *_tile_hosts()])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _tile_hosts() -> list[str]:
    """The base map's tile origin as a CSP source (``{s}`` subdomains → ``*``)."""
    basemap = current_app.config.get("BASEMAP")
    if basemap is None:
        return []
    parts = urlsplit(basemap.url)
    if not parts.netloc:
        return []  # a path on this site: 'self' covers it
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    return [f"{parts.scheme}://{host}" if parts.scheme else host]


def _plain_policy() -> str:
    """The policy of a response without a nonce (every API answer), made once
    per base map: building it per response cost a lookup 10 us."""
    basemap = current_app.config.get("BASEMAP")
    made = current_app.extensions.get("pingan_csp")
    if made is None or made[0] is not basemap:
        made = current_app.extensions["pingan_csp"] = (basemap, policy())
    return made[1]


def _add_headers(response: Response) -> Response:
    """The headers above and the CSP, on every response that has not set its own.

    The names present are read once: werkzeug's ``setdefault`` looks each one
    up by raising and catching a KeyError (20 us a response for four)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        nonce = g.get("csp_nonce")
        headers.add(
            "Content-Security-Policy", policy(nonce) if nonce else _plain_policy()
        )
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` per request in ``auto`` mode
    (Flask's ``SESSION_COOKIE_SECURE`` is one value for every request)."""

    def get_signing_serializer(self, app: Flask):
        """Flask's serializer, made once per secret key instead of per request
        (6 us a lookup, most of them sending no cookie at all)."""
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = app.extensions.get("pingan_session_serializer")
        if made is None or made[0] != keys:
            made = (keys, super().get_signing_serializer(app))
            app.extensions["pingan_session_serializer"] = made
        return made[1]

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config["COOKIE_SECURE"]
        if setting == "auto":
            return request.is_secure
        return bool(setting)


def init_app(app: Flask) -> None:
    """Headers on every response, the session interface, and ``ProxyFix``."""
    app.config.setdefault("COOKIE_SECURE", gis_config.cookie_secure())
    app.config.setdefault("PROXY_FIX", gis_config.proxy_fix())
    hops = app.config["PROXY_FIX"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.session_interface = SessionInterface()
    hooks.after_request(app, _add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
