"""The one retry policy of every outgoing request (geodata/_http.py), against loopback servers."""

from __future__ import annotations

import email.utils
import logging
import time

import pytest

from geodata._geoplateforme import GeoplateformeClient
from geodata._http import HttpClient, MalformedAnswer, download_to, fetch_bytes
from geodata._http import retry_after_seconds as _retry_after
from geodata.errors import NetworkError
from tests.geoplateforme_server import GeoplateformeServer, closed_port_url

ADDRESS = {"label": "118 Route de Narbonne 31400 Toulouse", "lon": 1.4637, "lat": 43.5614, "type": "housenumber", "citycode": "31555",
           "postcode": "31400", "city": "Toulouse"}


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def http(sleeps, *, retries=2, timeout=0.5):
    return HttpClient(timeout=timeout, user_agent="tests", retries=retries, backoff=0.25, sleep=sleeps)


@pytest.fixture
def server():
    with GeoplateformeServer([ADDRESS], slow_seconds=1.5) as srv:
        yield srv


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("1.5", 1.5), ("-4", 0.0), ("nan", None), ("demain", None), (None, None)])
def test_retry_after_header_values(header, seconds):
    assert _retry_after(header) == seconds


@pytest.mark.parametrize("fault", ["500", "503", "slow", "drop"])
def test_no_sleep_after_the_last_attempt(fault, server):
    server.faults = [fault] * 10
    sleeps = Sleeps()
    client = http(sleeps)
    with pytest.raises(NetworkError, match="après 3 essais"):
        client.request("GET", f"{server.url}/search", params={"q": "route de Narbonne"}, what="une recherche")
    assert len(server.log) == 3 and client.requests_made == 3
    assert sleeps == [0.25, 0.5]  # between attempts only: backoff, doubled; none after the third


def test_refused_connection_waits_between_attempts_only():
    sleeps = Sleeps()
    client = http(sleeps)
    with pytest.raises(NetworkError, match="connexion impossible"):
        client.request("GET", f"{closed_port_url()}/search", what="une recherche")
    assert client.requests_made == 3 and sleeps == [0.25, 0.5]


def test_persistent_429_waits_retry_after_between_attempts_only(server):
    server.faults = ["429"] * 10
    server.retry_after = 4
    sleeps = Sleeps()
    client = GeoplateformeClient(server.url, timeout=0.5, retries=2, backoff=0.01, sleep=sleeps)
    with pytest.raises(NetworkError, match="HTTP 429"):
        client.search("118 route de Narbonne")
    assert sleeps == [4.0, 4.0]
    assert client.requests_made == len(server.log) == 3


def test_retry_after_http_date_honoured_for_downloads(server, settings):
    server.faults = ["429"]
    server.retry_after = email.utils.formatdate(time.time() + 20, usegmt=True)
    sleeps = Sleeps()
    body = fetch_bytes(f"{server.url}/search?q=route+de+Narbonne", settings=settings.__class__(offline=False), client=http(sleeps))
    assert b"31555" in body
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20  # the date, not the backoff of 0.25 s


def test_retry_after_is_capped_by_max_wait(server):
    server.faults = ["429"]
    server.retry_after = 3600
    sleeps = Sleeps()
    client = HttpClient(timeout=0.5, user_agent="tests", max_wait=30, sleep=sleeps)
    client.request("GET", f"{server.url}/search", params={"q": "route de Narbonne"}, what="une recherche")
    assert sleeps == [30]


def test_malformed_bodies_are_retried_within_the_budget(server):
    server.faults = ["malformed"] * 5
    sleeps = Sleeps()
    client = GeoplateformeClient(server.url, timeout=0.5, retries=1, backoff=0.01, sleep=sleeps)
    with pytest.raises(NetworkError, match="après 2 essais : réponse illisible"):
        client.search_csv([{"q": "118 route de Narbonne"}], columns=["q"])
    assert len(server.log) == client.requests_made == 2 and sleeps == [0.01]


def test_malformed_body_and_server_error_share_one_budget(server):
    server.faults = ["500", "malformed", "malformed"]
    sleeps = Sleeps()
    client = GeoplateformeClient(server.url, timeout=0.5, retries=1, backoff=0.01, sleep=sleeps)
    with pytest.raises(NetworkError, match="après 2 essais : réponse illisible"):
        client.search("118 route de Narbonne")
    assert server.log == ["GET /geocodage/search 500", "GET /geocodage/search malformed"]  # not a fresh budget per kind
    assert sleeps == [0.01]


def test_every_retry_and_the_failure_are_logged(server, caplog):
    caplog.set_level(logging.INFO, logger="geodata._http")
    server.faults = ["503", "malformed"]
    client = http(Sleeps())

    def parse(response):
        if b"features" not in response.content or not response.content.rstrip().endswith(b"}"):
            raise MalformedAnswer("JSON tronqué")
        return response.json()

    assert client.request("GET", f"{server.url}/search", params={"q": "route de Narbonne"}, what="une recherche", parse=parse)["features"]
    retries = [r for r in caplog.records if r.name == "geodata._http" and r.levelno == logging.INFO]
    assert [r.getMessage().split(" dans ")[0] for r in retries] == [
        f"Essai 2/3 de GET {server.url}/search?q=route+de+Narbonne",
        f"Essai 3/3 de GET {server.url}/search?q=route+de+Narbonne",
    ]
    assert retries[0].getMessage().endswith("réponse HTTP 503") and retries[1].getMessage().endswith("réponse illisible (JSON tronqué)")
    caplog.clear()
    server.faults = ["500"] * 5
    with pytest.raises(NetworkError):
        client.request("GET", f"{server.url}/search", params={"q": "x"}, what="une recherche")
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == 1 and "n'a pas répondu pour une recherche après 3 essais" in failures[0].getMessage()


def test_client_error_is_not_retried(server):
    sleeps = Sleeps()
    client = http(sleeps)
    with pytest.raises(NetworkError, match=r"refuse une recherche \(HTTP 400\)"):
        client.request("GET", f"{server.url}/search", what="une recherche")  # no q: the service answers 400
    assert len(server.log) == 1 and sleeps == []


def test_download_to_writes_the_body_once_answered(server, settings, tmp_path):
    server.faults = ["500"]
    sleeps = Sleeps()
    dest = download_to(f"{server.url}/search?q=route+de+Narbonne", tmp_path / "officiel" / "f.json", settings=settings.__class__(offline=False),
                       client=http(sleeps))
    assert b"31555" in dest.read_bytes() and sleeps == [0.25]
    assert not list(dest.parent.glob("*.part"))


def test_offline_download_refused_before_any_request(settings):
    with pytest.raises(NetworkError, match="hors ligne"):
        fetch_bytes("http://127.0.0.1:9/x", settings=settings.__class__(offline=True), client=http(Sleeps()))
