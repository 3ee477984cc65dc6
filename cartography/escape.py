"""The one escaping helper: every data-derived text goes through it before HTML or JavaScript."""

from __future__ import annotations

import html
import math
import re
from urllib.parse import urlsplit

#: Control characters and whitespace (``\s`` of a str pattern is exactly ``str.isspace``): never inside a URL we link to.
_URL_BREAKERS = re.compile(r"[\x00-\x1f\s]")
#: A plain http(s) address with an ASCII host and no bracket (what urlsplit accepts without doubt): the fast path of safe_url.
_PLAIN_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[^/?#\[\]\x00-\x20\x7f-\U0010ffff]+(?:[/?#][^\x00-\x1f\s]*)?\Z")
_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def escape_text(value) -> str:
    """Escape ``value`` for HTML text, attributes and JavaScript template literals.

    Folium puts tooltips in a JS template literal (where ``${...}`` runs) and popups as raw
    HTML, so besides ``& < > " '`` the backtick, ``$`` and backslash become entities too.
    Missing values (None, NaN) become the empty string.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value), quote=True).translate(_JS_TEMPLATE)


def safe_url(value) -> str | None:
    """The URL when it is a plain http(s) address with a host, else ``None`` (no ``javascript:``)."""
    if value is None:
        return None
    text = str(value).strip()
    if _PLAIN_URL.match(text):
        return text
    if not text or _URL_BREAKERS.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return text


def link_html(url, label=None) -> str:
    """An escaped ``<a>`` for a safe URL, else the escaped label (or nothing)."""
    safe = safe_url(url)
    text = escape_text(label if label is not None else (safe or ""))
    if safe is None:
        return text if label is not None else ""
    return f'<a href="{escape_text(safe)}" target="_blank" rel="noopener noreferrer">{text}</a>'
