"""The geocoding chain against a loopback server speaking the Géoplateforme protocol, faults included."""

from __future__ import annotations

import email.utils
import time

import pandas as pd
import pytest

from geodata._geoplateforme import GeoplateformeClient
from geodata.errors import NetworkError
from geodata.geocoding import (
    COLUMNS,
    OK,
    REVIEW,
    UNPLACED,
    GeocodeCache,
    answer_from_bulk_row,
    answer_from_feature,
    geocode_actors,
    street_part,
)
from tests.geoplateforme_server import GeoplateformeServer, closed_port_url

ADDRESSES = [
    {"label": "118 Route de Narbonne 31400 Toulouse", "lon": 1.4637, "lat": 43.5614, "type": "housenumber", "citycode": "31555", "postcode": "31400", "city": "Toulouse"},
    {"label": "545 Rue du Professeur Vialla 34090 Montpellier", "lon": 3.8561, "lat": 43.6141, "type": "housenumber", "citycode": "34172", "postcode": "34090", "city": "Montpellier"},
    {"label": "Avenue Paul Alduy 66100 Perpignan", "lon": 2.8770, "lat": 42.6838, "type": "street", "citycode": "66136", "postcode": "66100", "city": "Perpignan"},
    {"label": "Place de la Maison Carrée 30000 Nîmes", "lon": 4.3560, "lat": 43.8379, "type": "street", "citycode": "30189", "postcode": "30000", "city": "Nîmes"},
]

ACTORS = pd.DataFrame(
    {
        "nom": ["Labo A", "UFR Odontologie", "Université de Perpignan", "Maison Carrée", "Sans adresse", "Inconnu"],
        "adresse": ["CBI - bâtiment IBCG 118, route de Narbonne", "Université de Montpellier UFR Odontologie 545, rue du Professeur Vialla",
                    "52 Av Paul Alduy", "place de la Maison Carrée", "", "1 rue Imaginaire"],
        "code_postal": ["31062", "34197", "66860", "30000", "09400", "99999"],
        "commune": ["TOULOUSE CEDEX 9", "MONTPELLIER CEDEX 5", "PERPIGNAN CEDEX 9", "Nîmes", "Niaux", "Nulle-Part"],
        "code_insee": [""] * 6,
        "latitude": [""] * 6,
        "longitude": [""] * 6,
    }
)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def client_for(url, *, sleep=None, timeout=0.5, retries=2):
    return GeoplateformeClient(url, timeout=timeout, retries=retries, backoff=0.01, sleep=Sleeps() if sleep is None else sleep)


@pytest.fixture
def server():
    with GeoplateformeServer(ADDRESSES, slow_seconds=1.5) as srv:
        yield srv


@pytest.fixture
def cache(tmp_path):
    return GeocodeCache(tmp_path / "geocodage.sqlite")


def run(actors, reference, settings, client, cache, **kw):
    return geocode_actors(actors, reference=reference, settings=settings, offline=False, client=client, cache=cache, **kw)


def assert_no_row_lost(actors, out):
    assert list(out.index) == list(actors.index)
    assert list(out.columns) == list(COLUMNS)
    assert out["geocodage_statut"].isin([OK, REVIEW, UNPLACED]).all()
    # Every row is placed, or listed for review with a reason.
    unplaced = out["longitude_lieu"].isna()
    assert (out.loc[unplaced, "geocodage_statut"] == UNPLACED).all()
    assert (out.loc[out["geocodage_statut"] != OK, "geocodage_motif"] != "").all()


def test_street_part_drops_building_and_boxes():
    assert street_part("Université de Montpellier UFR Odontologie 545, rue du Professeur Vialla") == "545, rue du Professeur Vialla"
    assert street_part("Centre IRD 911 Avenue Agropolis BP 64501") == "911 Avenue Agropolis"
    assert street_part("place de la Maison Carrée") == "place de la Maison Carrée"


def test_search_and_reverse_speak_geocodejson(server):
    client = client_for(server.url)
    feature = client.search("118 route de Narbonne Toulouse", postcode="31400")
    ans = answer_from_feature(feature)
    assert ans["found"] and ans["citycode"] == "31555" and ans["type"] == "housenumber"
    assert (ans["lon"], ans["lat"]) == (1.4637, 43.5614)
    assert client.search("rue qui n'existe pas du tout", postcode="31400") is None
    near = client.reverse(3.857, 43.615)
    assert near["properties"]["citycode"] == "34172"


def test_bulk_answer_parsing():
    assert answer_from_bulk_row({"result_status": "error"}) is None
    assert answer_from_bulk_row({"result_status": "not-found", "latitude": "", "longitude": ""}) == {"found": False}
    row = {"latitude": "43.1", "longitude": "1.2", "result_score": "0.9", "result_type": "street", "result_label": "x", "result_citycode": "31555", "result_status": "ok"}
    assert answer_from_bulk_row(row)["lon"] == 1.2


def test_bulk_chain_then_cache_never_asks_twice(server, reference, settings, cache):
    client = client_for(server.url)
    seen = []
    out = run(ACTORS, reference, settings, client, cache, progress=lambda d, t, m: seen.append((d, t)))
    assert_no_row_lost(ACTORS, out)
    assert list(out["geocodage_source"][:4]) == ["geoplateforme"] * 4
    assert list(out["geocodage_precision"][:4]) == ["housenumber", "housenumber", "street", "street"]
    assert out.at[4, "geocodage_source"] == "gazetteer" and out.at[4, "geocodage_precision"] == "municipality"
    assert out.at[5, "geocodage_statut"] == UNPLACED
    assert seen[-1][0] == seen[-1][1] == 5  # five rows have a street address
    requests_before = len(server.log)
    again = run(ACTORS, reference, settings, client_for(server.url), cache)
    assert len(server.log) == requests_before  # everything came from the cache
    assert again["geocodage_cache"][:4].all()
    pd.testing.assert_series_equal(again["longitude_lieu"], out["longitude_lieu"])


def test_one_by_one_mode_uses_search(server, reference, settings, cache):
    out = run(ACTORS, reference, settings, client_for(server.url), cache, bulk=False)
    assert list(out["geocodage_source"][:4]) == ["geoplateforme"] * 4
    assert all(entry.startswith("GET /geocodage/search") for entry in server.log)


@pytest.mark.parametrize("fault", ["429", "500", "503", "slow", "malformed", "drop"])
@pytest.mark.parametrize("bulk", [True, False])
def test_transient_fault_is_retried(fault, bulk, server, reference, settings, cache):
    server.faults = [fault]
    server.retry_after = 0
    out = run(ACTORS, reference, settings, client_for(server.url), cache, bulk=bulk)
    assert_no_row_lost(ACTORS, out)
    assert (out["geocodage_source"][:4] == "geoplateforme").all()
    assert server.faults == [], server.log


@pytest.mark.parametrize("bulk", [True, False])
def test_429_honours_retry_after(bulk, server, reference, settings, cache):
    server.faults = ["429"]
    server.retry_after = 3
    sleeps = Sleeps()
    run(ACTORS, reference, settings, client_for(server.url, sleep=sleeps), cache, bulk=bulk)
    assert sleeps == [3.0]


@pytest.mark.parametrize("bulk", [True, False])
def test_429_honours_retry_after_as_http_date(bulk, server, reference, settings, cache):
    server.faults = ["429"]
    server.retry_after = email.utils.formatdate(time.time() + 30, usegmt=True)  # "Wed, 25 Nov 2026 10:00:30 GMT"
    sleeps = Sleeps()
    out = run(ACTORS, reference, settings, client_for(server.url, sleep=sleeps), cache, bulk=bulk)
    assert_no_row_lost(ACTORS, out)
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30  # the date, not the default backoff


def test_truncated_bulk_answer_loses_no_row(server, reference, settings, cache):
    server.faults = ["truncated"]
    out = run(ACTORS, reference, settings, client_for(server.url), cache)
    assert_no_row_lost(ACTORS, out)
    missing = out["geocodage_source"] != "geoplateforme"
    assert missing[:4].any()
    assert (out.loc[missing[:4][missing[:4]].index, "geocodage_statut"] == REVIEW).all()
    # Rows without an answer were not cached: a second run asks for them again and gets them.
    again = run(ACTORS, reference, settings, client_for(server.url), cache)
    assert (again["geocodage_source"][:4] == "geoplateforme").all()


@pytest.mark.parametrize("fault", ["429", "500", "slow", "malformed", "drop"])
def test_persistent_fault_falls_back_to_communes_for_review(fault, server, reference, settings, cache):
    server.faults = [fault] * 50
    server.retry_after = 0
    out = run(ACTORS, reference, settings, client_for(server.url, retries=1), cache)
    assert_no_row_lost(ACTORS, out)
    assert (out["geocodage_source"][:4] == "gazetteer").all()
    assert (out["geocodage_statut"][:4] == REVIEW).all()
    assert out["geocodage_motif"][0].startswith("service national indisponible")
    assert len(cache) == 0  # failed responses are never cached


def test_refused_connection(reference, settings, cache):
    out = run(ACTORS, reference, settings, client_for(closed_port_url(), retries=1), cache)
    assert_no_row_lost(ACTORS, out)
    assert (out["geocodage_statut"][:4] == REVIEW).all()
    assert out.loc[:3, "longitude_lieu"].notna().all()


def test_client_raises_network_error_after_retries():
    with pytest.raises(NetworkError, match="essais"):
        client_for(closed_port_url(), retries=1).search("1 rue de la Paix")


def test_low_score_goes_to_review(server, reference, settings, cache):
    actors = ACTORS.iloc[[2]].copy()
    actors["adresse"] = "Avenue Alduy zone universitaire bâtiment B salle 12 étage 3"
    out = run(actors, reference, settings, client_for(server.url), cache)
    row = out.iloc[0]
    assert row["geocodage_statut"] == REVIEW and row["geocodage_source"] == "gazetteer"
    assert "sous le seuil" in row["geocodage_motif"]


def test_interrupted_batch_resumes(server, reference, settings, cache):
    actors = pd.concat([ACTORS.iloc[:4]] * 1, ignore_index=True)
    calls = []

    def stop_after_first_lot(done, total, message):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(actors, reference, settings, client_for(server.url), cache, chunk_size=2, progress=stop_after_first_lot)
    assert len(cache) == 2
    server.rows_received = 0
    out = run(actors, reference, settings, client_for(server.url), cache, chunk_size=2)
    assert server.rows_received == 2  # only the lot that was not answered is sent again
    assert (out["geocodage_source"] == "geoplateforme").all()


def test_offline_never_calls_the_service(reference, settings, cache):
    class Boom:
        def search_csv(self, *a, **k):
            raise AssertionError("network used offline")

        search = search_csv

    out = geocode_actors(ACTORS, reference=reference, settings=settings, offline=True, client=Boom(), cache=cache)
    assert_no_row_lost(ACTORS, out)
    assert (out["geocodage_source"][:5] == "gazetteer").all()
    assert (out["geocodage_statut"][:5] == OK).all()


def test_provided_coordinates_kept_or_flagged(reference, settings, cache):
    actors = pd.DataFrame(
        {
            "nom": ["Dans la région", "À Paris", "Inversées"],
            "commune": ["Toulouse", "Toulouse", ""],
            "code_postal": ["31000", "31000", ""],
            "latitude": ["43.6045", "48.8566", "2.35"],
            "longitude": ["1.4440", "2.3522", "48.85"],
        }
    )
    out = geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=cache)
    assert out.at[0, "geocodage_precision"] == "provided" and out.at[0, "geocodage_statut"] == OK
    assert out.at[0, "geocodage_code_insee"] == "31555"
    assert out.at[1, "geocodage_source"] == "gazetteer" and out.at[1, "geocodage_statut"] == REVIEW
    assert "hors d'Occitanie" in out.at[1, "geocodage_motif"]
    assert out.at[2, "geocodage_precision"] == "provided" and out.at[2, "geocodage_statut"] == REVIEW


def test_full_address_in_one_column(reference, settings, cache):
    actors = pd.DataFrame({"nom": ["Tout en un"], "adresse": ["2 rue du Lieutenant-Colonel Maillard, 81000 Albi"], "code_postal": [""], "commune": [""]})
    out = geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=cache)
    assert out.at[0, "geocodage_code_insee"] == "81004" and out.at[0, "geocodage_statut"] == OK


def test_insee_code_disagreeing_with_commune_goes_to_review(reference, settings, cache):
    actors = pd.DataFrame({"nom": ["A", "B"], "commune": ["Albi", "Toulouse"], "code_postal": ["81000", "31000"], "code_insee": ["31555", "31555"]})
    out = geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=cache)
    assert list(out["geocodage_code_insee"]) == ["31555", "31555"]
    assert list(out["geocodage_statut"]) == [REVIEW, OK]
    assert "Albi" in out.at[0, "geocodage_motif"]


def test_service_down_stops_after_two_failed_lots(reference, settings, cache):
    client = client_for(closed_port_url(), retries=0)
    actors = pd.concat([ACTORS.iloc[:4]] * 3, ignore_index=True)
    actors["adresse"] = actors["adresse"] + pd.Series([f" bis {i}" for i in range(len(actors))])  # 12 distinct addresses
    out = run(actors, reference, settings, client, cache, chunk_size=2)
    assert client.requests_made == 2  # not 6: the remaining lots were not sent
    assert_no_row_lost(actors, out)
    assert (out["geocodage_statut"] == REVIEW).all()
    assert out["geocodage_motif"].str.contains("indisponible").all()
