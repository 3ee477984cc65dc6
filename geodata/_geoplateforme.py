"""Network client of the national address service (IGN Géoplateforme, GeoCodeJSON protocol): search, reverse, bulk CSV."""

from __future__ import annotations

import csv
import io
import math
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from geopy import exc as geopy_exc
from geopy.adapters import URLLibAdapter, get_retry_after
from geopy.geocoders import BANFrance

from geodata.errors import NetworkError

#: Result columns the bulk endpoint appends to each CSV row.
BULK_RESULT_COLUMNS = ("latitude", "longitude", "result_label", "result_score", "result_type", "result_citycode", "result_status")
#: geopy errors that will not get better by asking again.
_PERMANENT = (geopy_exc.GeocoderQueryError, geopy_exc.GeocoderAuthenticationFailure, geopy_exc.GeocoderInsufficientPrivileges, geopy_exc.ConfigurationError)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _GeoplateformeGeopy(BANFrance):
    """geopy's BANFrance plus the ``postcode`` and ``citycode`` filters of the protocol."""

    def search(self, query: str, *, limit: int = 1, postcode: str = "", citycode: str = ""):
        params = {"q": query, "limit": limit}
        if postcode:
            params["postcode"] = postcode
        if citycode:
            params["citycode"] = citycode
        url = "?".join((self.geocode_api, urllib.parse.urlencode(params)))
        return self._call_geocoder(url, lambda payload: payload)  # the instance's timeout applies


@dataclass
class GeoplateformeClient:
    """Thin client: timeouts, a user agent, retries with backoff on timeouts, 429 (Retry-After) and 5xx.

    Parameters
    ----------
    base_url : str
        Root of the service, e.g. ``https://data.geopf.fr/geocodage`` (``/search``, ``/reverse``
        and ``/search/csv`` are appended).
    timeout : float
        Seconds for one request (geopy's default of 1 s is too short for the bulk endpoint).
    retries : int
        Further attempts after a transient failure.
    backoff : float
        First pause in seconds, doubled at each attempt; a 429's Retry-After replaces it.
    max_wait : float
        Longest pause honoured, whatever Retry-After says.
    """

    base_url: str
    timeout: float = 10.0
    user_agent: str = "carte-csti-occitanie"
    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0
    #: Shortest time between two requests: the service allows 50 per second and per address.
    min_interval: float = 1 / 40
    sleep: object = time.sleep
    requests_made: int = field(default=0, init=False)
    _last: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self):
        parts = urllib.parse.urlsplit(self.base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NetworkError(f"Adresse du géocodeur invalide : {self.base_url!r}. Écrivez une URL http(s), ex. https://data.geopf.fr/geocodage.")
        self._root = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._geopy = _GeoplateformeGeopy(
            domain=f"{parts.netloc}{parts.path}", scheme=parts.scheme, timeout=self.timeout, user_agent=self.user_agent, adapter_factory=URLLibAdapter
        )

    # -- retries ---------------------------------------------------------------------------------
    def _with_retries(self, what: str, call):
        last = ""
        for attempt in range(self.retries + 1):
            try:
                self._throttle()
                self.requests_made += 1
                return call()
            except _Retryable as exc:
                last = str(exc)
                if attempt == self.retries:
                    break
                wait = exc.retry_after if exc.retry_after is not None else self.backoff * 2**attempt
                self.sleep(min(max(wait, 0.0), self.max_wait))
        raise NetworkError(f"Le service de géocodage {self._root!r} n'a pas répondu pour {what} après {self.retries + 1} essais : {last}.")

    def _geopy_call(self, fn):
        try:
            return fn()
        except geopy_exc.GeocoderRateLimited as exc:
            raise _Retryable("trop de requêtes (429)", exc.retry_after) from exc
        except _PERMANENT as exc:
            raise NetworkError(f"Requête refusée par le service de géocodage {self._root!r} : {exc}.") from exc
        except (geopy_exc.GeocoderServiceError, ValueError) as exc:  # timeouts, refused connections, 5xx, bad JSON
            raise _Retryable(f"{type(exc).__name__} : {exc}") from exc

    def _throttle(self) -> None:
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()

    # -- single queries through geopy --------------------------------------------------------------
    def search(self, query: str, *, postcode: str = "", citycode: str = "") -> dict | None:
        """Best feature (GeoCodeJSON) for ``query``, or ``None`` when the service finds nothing."""
        payload = self._with_retries(repr(query), lambda: self._geopy_call(lambda: self._geopy.search(query, postcode=postcode, citycode=citycode)))
        return _first_feature(payload)

    def reverse(self, lon: float, lat: float) -> dict | None:
        """Nearest address feature of a point (raw GeoCodeJSON feature), or ``None``."""

        def call():
            loc = self._geopy_call(lambda: self._geopy.reverse((lat, lon), exactly_one=True))  # geopy wants (lat, lon)
            return None if loc is None else loc.raw

        return self._with_retries(f"({lon}, {lat})", call)

    # -- bulk CSV ----------------------------------------------------------------------------------
    def search_csv(self, rows: list[dict], *, columns: list[str], postcode_column: str = "", citycode_column: str = "") -> list[dict]:
        """Geocode ``rows`` in one request to ``/search/csv``; returns the rows with the result columns added.

        Raises :class:`~geodata.errors.NetworkError` after the retries, or when the answer is malformed.
        """
        if not rows:
            return []
        header = list(rows[0].keys())
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        fields = [("columns", c) for c in columns]
        if postcode_column:
            fields.append(("postcode", postcode_column))
        if citycode_column:
            fields.append(("citycode", citycode_column))
        body, content_type = _multipart(fields, "data", "adresses.csv", buf.getvalue().encode("utf-8"))
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __post_init__)
            f"{self._root}/search/csv", data=body, method="POST", headers={"Content-Type": content_type, "User-Agent": self.user_agent}
        )

        def call():
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (scheme checked in __post_init__)
                    text = response.read().decode("utf-8-sig")
            except urllib.error.HTTPError as exc:
                if exc.code == 429:
                    raise _Retryable("trop de requêtes (429)", _retry_after(exc.headers.get("Retry-After"))) from exc
                if exc.code >= 500:
                    raise _Retryable(f"erreur {exc.code} du service") from exc
                raise NetworkError(f"Requête groupée refusée par {self._root!r} (HTTP {exc.code}) : réduisez la taille des lots ou vérifiez l'URL.") from exc
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                raise _Retryable(f"{type(exc).__name__} : {getattr(exc, 'reason', exc)}") from exc
            return _parse_bulk(text, len(rows))

        return self._with_retries(f"un lot de {len(rows)} adresses", call)


def _retry_after(value) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110, section 10.2.3)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return get_retry_after({"retry-after": value}) if isinstance(value, str) else None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _first_feature(payload) -> dict | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("features"), list):
        raise NetworkError("Réponse du service de géocodage illisible (GeoCodeJSON attendu).")
    return payload["features"][0] if payload["features"] else None


def _parse_bulk(text: str, expected: int) -> list[dict]:
    """Parse the CSV answer of ``/search/csv``; a malformed answer is a transient failure."""
    try:
        sample = text.split("\n", 1)[0]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        rows = list(reader)
    except csv.Error as exc:
        raise _Retryable(f"réponse CSV illisible ({exc})") from exc
    missing = [c for c in ("latitude", "longitude", "result_score", "result_type") if c not in (reader.fieldnames or [])]
    if missing:
        raise _Retryable(f"réponse CSV sans les colonnes {missing!r}")
    if len(rows) > expected:
        raise _Retryable(f"réponse CSV de {len(rows)} lignes pour {expected} envoyées")
    return rows


def _multipart(fields: list[tuple[str, str]], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"----csti{uuid.uuid4().hex}"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
