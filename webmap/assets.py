"""Serve Folium's scripts, stylesheets and fonts from our own static folder.

Folium pages name CDN URLs for Leaflet and its plugins; an intranet has no CDN.
``static/vendor/manifest.json`` (written by ``scripts/vendor-assets``) maps each
URL Folium uses to the vendored copy.  A URL missing from the manifest is a
programming error (a new plugin was not vendored) and fails loudly instead of
making the browser reach the internet.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path

from branca.element import Element

logger = logging.getLogger(__name__)

MANIFEST = Path(__file__).parent / "static" / "vendor" / "manifest.json"
OWN = "pingan:"  # an element's link to a file of our own static folder


@functools.cache
def manifest() -> dict[str, str | None]:
    """CDN URL → path under ``static/`` (None: deliberately not served)."""
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def _elements(root: Element):
    stack = [root]
    while stack:
        element = stack.pop()
        yield element
        stack.extend(getattr(element, "_children", {}).values())


def localize(root: Element, static_url: Callable[[str], str]) -> None:
    """Point every script/stylesheet link of the page at our static files.

    Parameters
    ----------
    root : branca Element
        The Folium map (or its figure); all descendants are rewritten.
    static_url : callable
        Turns ``vendor/leaflet/leaflet.js`` into a URL, e.g. Flask's ``url_for``.
    """
    table = manifest()
    for element in _elements(root.get_root()):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if url.startswith(OWN):  # our own script or stylesheet
                    local.append((name, static_url(url.removeprefix(OWN))))
                    continue
                if url not in table:
                    raise RuntimeError(
                        f"{url} is not vendored; run scripts/vendor-assets"
                    )
                if table[url] is not None:
                    local.append((name, static_url(table[url])))
            setattr(element, attr, local)


def icon(url: str) -> Element:
    """The page's icon link (the browser asks for ``/favicon.ico`` otherwise,
    a 404 on every page)."""
    return Element(f'<link rel="icon" type="image/svg+xml" href="{url}">')
