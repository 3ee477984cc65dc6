"""All network access of the project: timeouts, a user agent, retries; nothing else opens a socket."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from geodata.errors import NetworkError
from geodata.settings import Settings, get_settings


def fetch_bytes(url: str, *, settings: Settings | None = None, retries: int = 2) -> bytes:
    """GET ``url`` and return the body; retries on timeouts and 5xx with a growing pause."""
    settings = settings or get_settings()
    if settings.offline:
        raise NetworkError(f"Mode hors ligne (CSTI_OFFLINE) : {url!r} n'est pas téléchargé.")
    if not url.lower().startswith(("http://", "https://")):
        raise NetworkError(f"Adresse non prise en charge : {url!r} (http ou https seulement).")
    request = urllib.request.Request(url, headers={"User-Agent": settings.user_agent})  # noqa: S310 (scheme checked above)
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=settings.http_timeout) as response:  # noqa: S310
                return response.read()
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code < 500:
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(0.5 * 2**attempt)
    raise NetworkError(f"Téléchargement impossible de {url!r} : {last}.")


def download_to(url: str, dest: Path, *, settings: Settings | None = None) -> Path:
    """Download ``url`` to ``dest`` (written atomically) and return ``dest``."""
    body = fetch_bytes(url, settings=settings)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(body)
    tmp.replace(dest)
    return dest
