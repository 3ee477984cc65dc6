"""Benchmark rows of geocoding: offline batches of 1,406 and 50,000 addresses, warm cache, bulk versus one by one."""

from __future__ import annotations

import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import SHARED_DATA, Row, fmt_s, measure
from geodata import gazetteer as gazetteer_mod
from geodata.geocoding import GeocodeCache, geocode_actors
from geodata.importing import import_actors
from geodata.reference import CRS_METRIC, communes_at, load_reference
from geodata.settings import get_settings

MUSEES = SHARED_DATA / "musees_de_france" / "liste-et-localisation-des-musees-de-france.csv"
RNSR = SHARED_DATA / "rnsr_structures_recherche_occitanie" / "fr-esr-structures-recherche-publiques-actives_occitanie.csv"


def _museums() -> pd.DataFrame:
    m = pd.read_csv(MUSEES, sep=";", dtype=str, keep_default_na=False)
    return m[m["region_administrative"] == "Occitanie"].reset_index(drop=True)


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def real_addresses(n: int, reference, *, seed: int = 76) -> pd.DataFrame:
    """``n`` addresses resampled from real ones: museums, research structures, and communes with their postcodes.

    Commune names get the variants found in survey files (upper case, "St", no accents, CEDEX).
    """
    parts = []
    if MUSEES.exists():
        m = _museums()
        parts.append(m[["adresse", "code_postal", "commune"]])
    if RNSR.exists():
        r = pd.read_csv(RNSR, sep=";", dtype=str, keep_default_na=False)
        parts.append(r[["adresse", "code_postal", "commune"]])
    cp = reference.codes_postaux.merge(reference.communes[["code_insee", "nom"]], on="code_insee")
    parts.append(pd.DataFrame({"adresse": "", "code_postal": cp["code_postal"], "commune": cp["nom"]}))
    pool = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(seed)
    out = pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)
    variant = rng.integers(0, 5, n)
    c = out["commune"]
    out["commune"] = np.select(
        [variant == 1, variant == 2, variant == 3],
        [c.str.upper(), c.str.replace("Saint-", "St ", regex=False), c.map(_plain)],
        default=c,
    )
    return out


def _offline(actors, reference, settings, tmp):
    gazetteer_mod._LAST.clear()  # build the gazetteer inside the measure
    return geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=GeocodeCache(Path(tmp) / f"{time.time_ns()}.sqlite"))


def _seconds(fn) -> float:
    """Wall time of one call (no allocation tracing: it would slow the loopback server's thread too)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def rows(ctx: dict) -> list[Row]:
    out: list[Row] = []
    quick = bool(ctx.get("quick"))
    settings = get_settings()
    reference = ctx.get("reference") or load_reference(settings=settings)
    with tempfile.TemporaryDirectory() as tmp:
        for n, target in ((1_406, "< 1 s"), (5_000 if quick else 50_000, "< 20 s")):
            actors = real_addresses(n, reference)
            res, secs, peak = measure(_offline, actors, reference, settings, tmp, repeat=3)
            placed = res["longitude_lieu"].notna().mean()
            out.append(Row("géocodage", f"hors ligne, {n:,} adresses".replace(",", "\u202f"), fmt_s(secs), target if n in (1_406, 50_000) else "",
                           f"{placed:.1%} placées ; pic {peak:.0f} MiB"))
        n = 5_000 if quick else 50_000
        table = real_addresses(n, reference)
        table.insert(0, "Nom de la structure", [f"Structure {i}" for i in range(n)])
        data = table.to_csv(index=False, sep=";").encode("cp1252", errors="replace")
        result, secs, peak = measure(import_actors, data, filename="enquete.csv", repeat=2)
        out.append(Row("géocodage", "import CSV cp1252 « ; », " + f"{n:,}".replace(",", "\u202f") + " lignes (lecture, correspondance, validation)",
                       fmt_s(secs), "", f"{len(result.actors)} retenues ; pic {peak:.0f} MiB"))
        if MUSEES.exists():
            m = _museums()
            actors = m[["adresse", "code_postal", "commune"]]
            res = _offline(actors, reference, settings, tmp)
            truth = communes_at(reference.communes, m["longitude"].astype(float), m["latitude"].astype(float))
            share = (communes_at(reference.communes, res["longitude_lieu"], res["latitude_lieu"]).to_numpy() == truth.to_numpy()).mean()
            import geopandas as gpd

            a = gpd.GeoSeries(gpd.points_from_xy(res["longitude_lieu"], res["latitude_lieu"]), crs="EPSG:4326").to_crs(CRS_METRIC)
            b = gpd.GeoSeries(gpd.points_from_xy(m["longitude"].astype(float), m["latitude"].astype(float)), crs="EPSG:4326").to_crs(CRS_METRIC)
            d = a.distance(b) / 1000
            out.append(Row("géocodage", "musées de France (132) : bonne commune", f"{share:.1%}", "≥ 97 %",
                           f"distance médiane {d.median():.1f} km, 90e centile {d.quantile(0.9):.1f} km (niveau commune)"))
        out.extend(_loopback_rows(reference, settings, tmp, quick))
    return out


def _loopback_rows(reference, settings, tmp, quick: bool) -> list[Row]:
    try:
        from tests.geoplateforme_server import GeoplateformeServer
    except ImportError:
        return [Row("géocodage", "serveur local Géoplateforme", "non mesuré", "", "tests/geoplateforme_server.py absent")]
    from geodata._geoplateforme import GeoplateformeClient

    out = []
    known = []
    if MUSEES.exists():
        m = _museums()
        for _, r in m.iterrows():
            known.append({"label": f"{r['adresse']} {r['code_postal']} {r['commune']}", "lon": float(r["longitude"]), "lat": float(r["latitude"]),
                          "type": "housenumber", "citycode": "", "postcode": r["code_postal"], "city": r["commune"]})
    streets = [_museums()[["adresse", "code_postal", "commune"]]] if MUSEES.exists() else []
    if RNSR.exists():
        streets.append(pd.read_csv(RNSR, sep=";", dtype=str, keep_default_na=False)[["adresse", "code_postal", "commune"]])
    if not streets:
        return out
    with_street = pd.concat(streets, ignore_index=True)
    with_street = with_street[with_street["adresse"] != ""].reset_index(drop=True)
    # Warm cache: every street address of the real files, asked once, then answered by the cache.
    with GeoplateformeServer(known, latency=0.020) as srv:
        client = GeoplateformeClient(srv.url, timeout=30, user_agent=settings.user_agent)
        cache = GeocodeCache(Path(tmp) / "chaud.sqlite")
        run = lambda: geocode_actors(with_street, reference=reference, settings=settings, offline=False, client=client, cache=cache)  # noqa: E731
        cold = _seconds(run)
        requests_cold = len(srv.log)
        warm = _seconds(run)
        requests_warm = len(srv.log) - requests_cold
    out.append(Row("géocodage", f"{len(with_street)} adresses réelles (musées, RNSR), cache froid → chaud", f"{fmt_s(cold)} → {fmt_s(warm)}", "",
                   f"{requests_cold} requête(s) groupée(s) puis {requests_warm} ; {len(cache)} réponses en cache (latence 20 ms)"))
    n = 50 if quick else 200
    sample = with_street.drop_duplicates().head(n).reset_index(drop=True)
    with GeoplateformeServer(known, latency=0.020) as srv:
        client = GeoplateformeClient(srv.url, timeout=30, user_agent=settings.user_agent)
        bulk = _seconds(lambda: geocode_actors(sample, reference=reference, settings=settings, offline=False, client=client,
                                                cache=GeocodeCache(Path(tmp) / f"b{time.time_ns()}.sqlite")))
        single = _seconds(lambda: geocode_actors(sample, reference=reference, settings=settings, offline=False, client=client, bulk=False,
                                                  cache=GeocodeCache(Path(tmp) / f"s{time.time_ns()}.sqlite")))
    out.append(Row("géocodage", f"lot CSV vs une par une, {len(sample)} adresses, latence 20 ms", f"{fmt_s(bulk)} vs {fmt_s(single)}", "",
                   f"rapport ×{single / bulk:.0f} en faveur du lot"))
    return out
