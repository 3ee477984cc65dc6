"""Benchmark rows of the coverage analysis: full recompute and where-next on synthetic directories."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from benchmarks import SHARED_DATA, Row, fmt_s, measure
from geodata import coverage as cv
from geodata import number_format
from geodata.directory import load_directory
from geodata.reference import CRS_METRIC, CRS_STORAGE
from geodata.territory import load_territory

SIZES = (1_406, 50_000)
QUICK_SIZES = (1_406,)


def synthetic_directory(sample: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` actors: attributes resampled from ``sample``, places drawn in communes weighted by population.

    Each actor sits at its commune's representative point plus a Gaussian jitter of a quarter
    of the commune's width, redrawn until the point lies inside the commune (else the point itself).
    """
    rng = np.random.default_rng(seed)
    pop = communes["population"].to_numpy(dtype=float) + 50.0  # every commune can host an actor
    chosen = rng.choice(len(communes), size=n, p=pop / pop.sum())
    metric = communes.to_crs(CRS_METRIC)
    base = gpd.GeoSeries(gpd.points_from_xy(communes["point_lon"], communes["point_lat"]), crs=CRS_STORAGE).to_crs(CRS_METRIC)
    bx, by = base.x.to_numpy()[chosen], base.y.to_numpy()[chosen]
    scale = np.sqrt(communes["superficie_km2"].to_numpy(dtype=float) * 1e6)[chosen] / 4
    polys = metric.geometry.to_numpy()[chosen]
    x, y = bx.copy(), by.copy()
    todo = np.arange(n)
    for _ in range(5):
        tx = bx[todo] + rng.normal(0, 1, len(todo)) * scale[todo]
        ty = by[todo] + rng.normal(0, 1, len(todo)) * scale[todo]
        ok = gpd.GeoSeries(gpd.points_from_xy(tx, ty), crs=CRS_METRIC).within(gpd.GeoSeries(polys[todo], crs=CRS_METRIC)).to_numpy()
        x[todo[ok]], y[todo[ok]] = tx[ok], ty[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            break
    attrs = pd.DataFrame(sample.drop(columns=sample.geometry.name)).iloc[rng.integers(0, len(sample), n)].reset_index(drop=True)
    attrs["nom"] = [f"Acteur synthétique {i}" for i in range(n)]
    # The commune each actor was drawn in: a commune-level precision (the sample's) makes it an area of that commune.
    attrs["code_insee_lieu"] = communes["code_insee"].to_numpy()[chosen]
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=CRS_METRIC).to_crs(CRS_STORAGE)
    return gpd.GeoDataFrame(attrs, geometry=pts.to_numpy(), crs=CRS_STORAGE)


def _n(value: int) -> str:
    return number_format.integer(value)


def _full(demand, actors, params):
    result = cv.compute_coverage(demand, cv.sites_from_actors(cv.counted_actors(actors, params), demand), params)
    result.summary()
    result.by_department(demand.departements)
    return result


def rows(ctx: dict) -> list[Row]:
    qpv_file = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson"
    pop_file = SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"
    terr = load_territory(
        qpv_path=qpv_file if qpv_file.exists() else None, qpv_population_path=pop_file if pop_file.exists() and qpv_file.exists() else None
    )
    demand, prep, _ = measure(cv.demand_from_territory, terr, repeat=3)
    n_qpv = len(demand.qpv) if demand.has_qpv else 0
    out = [
        Row("couverture", "préparation (projection communes + QPV, index)", fmt_s(prep), "", f"{len(demand.points)} communes, {n_qpv} QPV")
    ]
    sample = load_directory(reference=terr.reference)
    params = cv.Params()
    for n in QUICK_SIZES if ctx.get("quick") else SIZES:
        actors = synthetic_directory(sample, terr.reference.communes, n)
        result, full, peak = measure(_full, demand, actors, params, repeat=5)
        s = result.summary()
        note = f"{s['communes_rurales_hors_portee']} communes rurales hors de portée ; pic mémoire Python {peak:.0f} MiB"
        out.append(Row("couverture", f"recalcul complet ({_n(n)} acteurs)", fmt_s(full), "≤ 0,3 s", note))
        steps, wn, peak = measure(cv.where_next, demand, result, 10, repeat=5)
        gain = int(steps["gain_population_rurale"].sum() + steps["gain_population_qpv"].sum()) if len(steps) else 0
        note = f"{len(steps)} étapes, {_n(gain)} habitants gagnés ; pic mémoire Python {peak:.0f} MiB"
        out.append(Row("couverture", f"où agir ensuite K = 10 ({_n(n)} acteurs)", fmt_s(wn), "≤ 1 s", note))
    # The map of the page, with the sample directory (what a visitor gets on each change of a parameter).
    try:
        from cartography.coverage_map import coverage_map, map_size
    except ImportError:  # pragma: no cover - cartography is part of the project, kept optional for the CLI
        coverage_map = None
    if coverage_map is not None:
        sites = cv.sites_from_actors(cv.counted_actors(sample, params), demand)
        result = cv.compute_coverage(demand, sites, params)
        steps = cv.where_next(demand, result, 10)

        def build_and_render():
            m = coverage_map(demand, result, sites, steps=steps)
            return m, map_size(m)

        (_, size), took, _ = measure(build_and_render, repeat=3)
        note = f"HTML {size / 2**20:.1f} MiB ; contours simplifiés calculés une fois par processus"
        out.append(Row("couverture", "carte des manques (folium + HTML, annuaire d'exemple, meilleur de 3)", fmt_s(took), "", note))
    # A dense directory with short reaches still leaves gaps: where-next then has real work.
    if not ctx.get("quick"):
        short = cv.Params(rural_reach_km=3, qpv_reach_km=0.3)
        result = _full(demand, actors, short)
        steps, wn, _ = measure(cv.where_next, demand, result, 10, repeat=3)
        gain = int(steps["gain_population_rurale"].sum() + steps["gain_population_qpv"].sum()) if len(steps) else 0
        note = f"{result.summary()['communes_rurales_hors_portee']} communes rurales hors de portée ; {len(steps)} étapes, {_n(gain)} habitants gagnés"
        out.append(
            Row("couverture", f"où agir ensuite K = 10 ({_n(len(actors))} acteurs, portées 3 km / 0,3 km)", fmt_s(wn), "≤ 1 s", note)
        )
    # The worst case for where-next: no actor at all, every rural commune and QPV is a gap.
    empty = cv.compute_coverage(demand, cv.Sites.empty(), params)
    steps, wn, _ = measure(cv.where_next, demand, empty, 10, repeat=3)
    out.append(Row("couverture", "où agir ensuite K = 10 (aucun acteur : pire cas)", fmt_s(wn), "≤ 1 s", f"{len(steps)} étapes"))
    return out
