"""Network client of the national address service (IGN Géoplateforme, GeoCodeJSON protocol): search, reverse, bulk CSV."""

from __future__ import annotations

import csv
import io
import time
import urllib.parse
from dataclasses import dataclass

from geodata._http import BACKOFF, MAX_WAIT, RETRIES, HttpClient, MalformedAnswer
from geodata.errors import NetworkError


@dataclass
class GeoplateformeClient:
    """Thin client of the service; timeouts, retries (429 with Retry-After, 5xx, timeouts) are the project's one policy.

    Parameters
    ----------
    base_url : str
        Root of the service, e.g. ``https://data.geopf.fr/geocodage`` (``/search``, ``/reverse``
        and ``/search/csv`` are appended).
    timeout : float
        Seconds for one request (the bulk endpoint needs several).
    retries, backoff, max_wait, sleep
        The retry policy (:class:`geodata._http.HttpClient`).
    """

    base_url: str
    timeout: float = 10.0
    user_agent: str = "carte-csti-occitanie"
    retries: int = RETRIES
    backoff: float = BACKOFF
    max_wait: float = MAX_WAIT
    #: Shortest time between two requests: the service allows 50 per second and per address. This pace
    #: follows the real clock (it is about the real service's rate), not ``sleep``, which serves retries.
    min_interval: float = 1 / 40
    sleep: object = time.sleep

    def __post_init__(self):
        parts = urllib.parse.urlsplit(self.base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise NetworkError(f"Adresse du géocodeur invalide : {self.base_url!r}. Écrivez une URL http(s), ex. https://data.geopf.fr/geocodage.")
        #: The normalised root, recorded with every cached answer.
        self.service_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._http = HttpClient(timeout=self.timeout, user_agent=self.user_agent, retries=self.retries, backoff=self.backoff,
                                max_wait=self.max_wait, sleep=self.sleep)
        self._last = 0.0

    @property
    def requests_made(self) -> int:
        """Requests sent so far, retries included."""
        return self._http.requests_made

    def _request(self, method: str, path: str, *, what: str, parse, **kwargs):
        self._throttle()
        return self._http.request(method, f"{self.service_url}{path}", what=what, parse=parse,
                                  service=f"Le service de géocodage {self.service_url!r}", **kwargs)

    def _throttle(self) -> None:
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()

    # -- single queries ----------------------------------------------------------------------------
    def search(self, query: str, *, postcode: str = "", citycode: str = "") -> dict | None:
        """Best feature (GeoCodeJSON) for ``query``, or ``None`` when the service finds nothing."""
        params = {"q": query, "limit": 1}
        if postcode:
            params["postcode"] = postcode
        if citycode:
            params["citycode"] = citycode
        return self._request("GET", "/search", what=repr(query), parse=_first_feature, params=params)

    def reverse(self, lon: float, lat: float) -> dict | None:
        """Nearest address feature of a point (raw GeoCodeJSON feature), or ``None``."""
        return self._request("GET", "/reverse", what=f"({lon}, {lat})", parse=_first_feature, params={"lon": lon, "lat": lat, "limit": 1})

    # -- bulk CSV ----------------------------------------------------------------------------------
    def search_csv(self, rows: list[dict], *, columns: list[str], postcode_column: str = "", citycode_column: str = "") -> list[dict]:
        """Geocode ``rows`` in one request to ``/search/csv``; returns the rows with the result columns added.

        Raises :class:`~geodata.errors.NetworkError` after the retries, or when the answer stays malformed.
        """
        if not rows:
            return []
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        fields = [("columns", c) for c in columns]
        if postcode_column:
            fields.append(("postcode", postcode_column))
        if citycode_column:
            fields.append(("citycode", citycode_column))
        return self._request(
            "POST", "/search/csv", what=f"un lot de {len(rows)} adresses", parse=lambda response: _parse_bulk(response, len(rows)),
            data=fields, files=[("data", ("adresses.csv", buf.getvalue().encode("utf-8"), "text/csv"))],
            refused_fix="réduisez la taille des lots ou vérifiez l'URL.",
        )


def _first_feature(response) -> dict | None:
    """First feature of a GeoCodeJSON answer; an unreadable one is a failed attempt."""
    try:
        payload = response.json()
    except ValueError as exc:
        raise MalformedAnswer(f"JSON invalide : {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("features"), list):
        raise MalformedAnswer("GeoCodeJSON attendu")
    return payload["features"][0] if payload["features"] else None


def _parse_bulk(response, expected: int) -> list[dict]:
    """Parse the CSV answer of ``/search/csv``; a malformed answer is a failed attempt."""
    text = response.content.decode("utf-8-sig", errors="replace")
    try:
        sample = text.split("\n", 1)[0]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        rows = list(reader)
    except csv.Error as exc:
        raise MalformedAnswer(f"CSV illisible ({exc})") from exc
    missing = [c for c in ("latitude", "longitude", "result_score", "result_type") if c not in (reader.fieldnames or [])]
    if missing:
        raise MalformedAnswer(f"CSV sans les colonnes {missing!r}")
    if len(rows) > expected:
        raise MalformedAnswer(f"CSV de {len(rows)} lignes pour {expected} envoyées")
    return rows
