"""Coverage on real data: the official QPV layer, INSEE figures, the sample directory, and the CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

from geodata import coverage as cv
from geodata import coverage_text
from geodata.cli import main
from geodata.directory import load_directory, place_and_enrich, read_sample
from geodata.territory import load_territory


@pytest.fixture(scope="module")
def territory(settings, qpv_file, qpv_population_file):
    return load_territory(settings=settings, qpv_path=qpv_file, qpv_population_path=qpv_population_file)


@pytest.fixture(scope="module")
def demand(territory):
    return cv.demand_from_territory(territory)


@pytest.fixture(scope="module")
def actors(territory, settings):
    return load_directory(settings=settings, reference=territory.reference)


def test_every_qpv_and_commune_gets_a_distance(demand, actors):
    result = cv.compute_coverage(demand, cv.sites_from_actors(actors), cv.Params())
    assert len(result.qpv) == 105
    assert np.isfinite(result.qpv["distance_km"]).all()
    assert (result.qpv["distance_km"] >= 0).all()
    assert len(result.communes) == len(demand.communes) > 4_000
    assert np.isfinite(result.communes["distance_km"]).all()
    s = result.summary()
    assert s["qpv"] == 105
    assert s["qpv_population_inconnue"] == 0
    assert 0 < s["part_population_rurale_a_portee"] < 1
    # An actor placed at its commune stands at the commune's representative point: distance 0 from it.
    distance = result.communes.set_index("code_insee")["distance_km"]
    at_commune = actors["geocodage_precision"] == "municipality"
    assert (distance.loc[actors.loc[at_commune, "code_insee_lieu"].unique()] == 0).all()
    # The sample's museums at their official point (Musées de France) are elsewhere in their commune.
    official = actors[~at_commune & ~actors["code_insee_lieu"].isin(actors.loc[at_commune, "code_insee_lieu"])]
    assert len(official) >= 10 and (distance.loc[official["code_insee_lieu"]] > 0).all()


def test_the_samples_official_points_narrow_the_ranges(demand, actors, territory, settings):
    """The sample's museums at their official point (Musées de France) against the same sample all at commune level."""
    at_commune = place_and_enrich(read_sample().assign(latitude="", longitude=""), territory, settings=settings)
    precise = cv.analyse(demand, actors, cv.Params()).coverage
    coarse = cv.analyse(demand, at_commune, cv.Params()).coverage
    assert coarse.n_commune_level == 124 and precise.n_commune_level == 104
    p, c = precise.summary(), coarse.summary()
    for key in ("communes_rurales_hors_portee", "population_rurale_hors_portee", "qpv_hors_portee", "population_qpv_hors_portee"):
        assert c[f"{key}_min"] <= p[f"{key}_min"] <= p[key] <= p[f"{key}_max"] <= c[f"{key}_max"], key
    # Strictly narrower: the default page shows what precision buys.
    assert p["population_rurale_hors_portee_max"] - p["population_rurale_hors_portee_min"] < (
        c["population_rurale_hors_portee_max"] - c["population_rurale_hors_portee_min"])


def test_every_per_department_table_has_its_per_epci_counterpart(demand, actors):
    """Issue 15 item 2: each layer per department is also given per EPCI, by the same builder; places name their EPCI."""
    layers = cv.analyse(demand, actors, cv.Params()).layers
    deps, epci = layers["departements"], layers["epci"]
    figures = [c for c in deps.columns if c not in ("code_departement", "nom", "geometry")]
    assert figures and set(figures) <= set(epci.columns)
    assert epci[figures].iloc[-1].equals(deps[figures].iloc[-1])  # the same region row, the same figures
    body = epci.iloc[:-1]
    for col in ("communes_rurales", "population_rurale", "population_rurale_hors_portee", "qpv", "population_qpv_hors_portee"):
        assert body[col].sum() == deps.iloc[:-1][col].sum() == deps.iloc[-1][col], col  # every place counted once per level
    # Every place that names its department names its EPCI: rural gaps, all communes, QPV, where next.
    for name in ("communes_rurales_hors_portee", "communes", "qpv", "qpv_hors_portee", "ou_agir"):
        layer = layers[name]
        assert {"code_departement", "code_epci", "nom_epci"} <= set(layer.columns), name
        assert layer["nom_epci"].notna().all(), name
    qpv = layers["qpv"].set_index("code_qp")
    toulouse = demand.communes.set_index("code_insee").loc["31555", ["code_epci", "nom_epci"]]
    assert (qpv.loc[qpv["communes"].str.contains("Toulouse"), ["code_epci", "nom_epci"]] == toulouse.to_numpy()).all().all()


def test_an_actor_inside_a_qpv_covers_it(demand, actors):
    params = cv.Params(qpv_reach_km=0.1)
    base = cv.compute_coverage(demand, cv.sites_from_actors(actors), params)
    target = base.qpv.loc[~base.qpv["a_portee"]].iloc[0]
    inside = gpd.GeoSeries([demand.qpv_geometry.iloc[target.name]], crs="EPSG:4326").to_crs(2154).representative_point().to_crs(4326)
    site = cv.site_from_coordinates(inside.x.iloc[0], inside.y.iloc[0], "Camion de la science")
    after = cv.compute_coverage(demand, cv.sites_from_actors(actors) + site, params)
    row = after.qpv.loc[target.name]
    assert row["code_qp"] == target["code_qp"]
    assert row["a_portee"]
    assert row["distance_km"] == 0
    assert row["nb_acteurs_dedans"] == 1
    assert row["acteurs_dedans"] == "Camion de la science"
    assert after.summary()["qpv_hors_portee"] == base.summary()["qpv_hors_portee"] - 1


def test_where_next_on_real_data_gains_less_and_less(demand, actors):
    result = cv.compute_coverage(demand, cv.sites_from_actors(actors), cv.Params())
    steps = cv.where_next(demand, result, 10)
    assert len(steps) == 10
    assert steps["code_insee"].is_unique
    assert (np.diff(steps["gain_score"]) <= 1e-6).all()
    assert steps["gain_population_rurale"].iloc[0] > 0


def test_official_rural_definition_from_the_insee_table(settings, qpv_file, zonage_file, actors):
    terr = load_territory(settings=settings, qpv_path=qpv_file, zonage_path=zonage_file)
    demand = cv.demand_from_territory(terr)
    result = cv.compute_coverage(demand, cv.sites_from_actors(actors), cv.Params(rural_definition="aav2020"))
    s = result.summary()
    assert 0 < s["communes_rurales"] < len(demand.communes)
    assert "AAV2020" in " ".join(coverage_text.method_notes(demand, result.params))


def test_cli_exports_every_layer(tmp_path, qpv_file, qpv_population_file, capsys):
    out = tmp_path / "couverture.geojson"
    code = main(
        ["coverage", "-o", str(out), "--qpv", str(qpv_file), "--qpv-population", str(qpv_population_file), "--site", "48095", "-k", "3"]
    )
    assert code == 0
    for name in cv.LAYERS:
        path = tmp_path / f"couverture_{name}.geojson"
        fc = json.loads(path.read_text(encoding="utf-8"))
        assert fc["type"] == "FeatureCollection", name
    assert len(json.loads((tmp_path / "couverture_qpv.geojson").read_text())["features"]) == 105
    assert len(json.loads((tmp_path / "couverture_ou_agir.geojson").read_text())["features"]) == 3
    printed = capsys.readouterr().out
    assert "Communes rurales hors de portée" in printed
    assert "génération 2015" in printed


def test_cli_exports_one_layer_as_csv_with_filters(tmp_path):
    out = tmp_path / "rural.csv"
    code = main(
        [
            "coverage",
            "-o",
            str(out),
            "--couche",
            "communes_rurales_hors_portee",
            "--familles",
            "cercle1",
            "--portee-rurale",
            "10",
            "--detour",
            "1.3",
        ]
    )
    assert code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("code_insee;nom;code_departement;code_epci;nom_epci;population")
    assert len(lines) > 100


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.xlsx"], "'.xlsx'"),
        (["-o", "x.csv", "--couche", "qpv"], "CSTI_QPV_FILE"),
        (["-o", "x.csv", "--site", "99999"], "'99999'"),
        (["-o", "x.csv", "--detour", "5"], "détour"),
    ],
)
def test_cli_errors_are_explained(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["coverage", *args]) == 2
    assert message in capsys.readouterr().err
