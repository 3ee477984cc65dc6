"""Staff load the official QPV file from the page « Géographie de référence »: checked, kept on the server, used by the coverage."""

from __future__ import annotations

import json

import pytest
import streamlit as st

from geodata import qpv
from geodata.errors import DataFileError
from tests.test_staff_pages import PASSWORD, login, open_page

PAGE = "pages/geographie.py"
COVERAGE = "pages/couverture.py"


@pytest.fixture
def staff(tmp_path, monkeypatch, accounts):
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", accounts)
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    monkeypatch.delenv("CSTI_QPV_POPULATION_FILE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="module")
def accounts() -> str:
    from geodata.auth import hash_password

    return f"alice:{hash_password(PASSWORD, rounds=4)}"


def _feature(code: str, geometry: dict) -> dict:
    return {"type": "Feature", "properties": {"code_qp": code, "nom_qp": "Quartier"}, "geometry": geometry}


def _collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


SQUARE_PARIS = {"type": "Polygon", "coordinates": [[[2.30, 48.80], [2.31, 48.80], [2.31, 48.81], [2.30, 48.80]]]}


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (b"", "qpv.geojson", "est vide"),
        (b"code_qp;nom\nQP031001;x\n", "qpv.csv", "n'est pas une couche géographique des QPV"),
        (b"{ pas du json", "qpv.geojson", "n'est pas un GeoJSON, un GeoPackage ou un Shapefile zippé valide"),
        (_collection(_feature("QP075001", SQUARE_PARIS)), "paris.geojson", "aucun quartier d'Occitanie"),
        (_collection(_feature("QP031001", {"type": "Point", "coordinates": [1.44, 43.6]})), "centres.geojson", "ne sont pas des contours"),
    ],
)
def test_a_wrong_file_is_refused_with_a_french_message_and_nothing_is_kept(staff, data, name, fragment):
    with pytest.raises(DataFileError, match=fragment) as caught:
        qpv.install_qpv(data, name)
    assert repr(name) in str(caught.value) and "/tmp" not in str(caught.value)
    assert qpv.staff_files() == (None, None)


def test_a_file_of_another_kind_or_a_geopackage_without_a_qpv_layer_is_refused(staff, shared_data, tmp_path):
    region = (shared_data / "communes_geo_occitanie_2018" / "region-occitanie.geojson").read_bytes()
    with pytest.raises(DataFileError, match="ne sont pas des codes de quartier prioritaire"):
        qpv.install_qpv(region, "region.geojson")
    import geopandas as gpd

    gpkg = tmp_path / "deux-couches.gpkg"
    departements = gpd.read_file(shared_data / "communes_geo_occitanie_2018" / "departements-occitanie.geojson")[["nom", "geometry"]]
    departements.to_file(gpkg, layer="departements")
    departements.to_file(gpkg, layer="communes")
    with pytest.raises(DataFileError, match=r"Aucune couche de 'deux-couches.gpkg' ne porte de code de quartier.*'departements'"):
        qpv.install_qpv(gpkg.read_bytes(), "deux-couches.gpkg")


def test_the_qpv_layer_of_a_geopackage_is_found_among_its_layers(staff, qpv_file, tmp_path):
    import geopandas as gpd

    gpkg = tmp_path / "qpv.gpkg"
    layer = gpd.read_file(qpv_file)
    layer[["code_departement", "geometry"]].to_file(gpkg, layer="contexte")
    layer.to_file(gpkg, layer="qp")
    meta = qpv.install_qpv(gpkg.read_bytes(), "qpv.gpkg", user="alice")
    assert meta["quartiers"] == 105 and meta["par"] == "alice"
    assert len(qpv.load_qpv()) == 105


def test_a_population_table_must_match_the_quartiers(staff, qpv_file, qpv_population_file):
    with pytest.raises(DataFileError, match="CODGEO et POP_MUN"):
        qpv.install_qpv(qpv_file.read_bytes(), "qp.geojson", population=b"a;b\n1;2\n", population_name="pop.csv")
    with pytest.raises(DataFileError, match="même génération"):
        qpv.install_qpv(qpv_file.read_bytes(), "qp.geojson", population=b"CODGEO;POP_MUN\nQN03101M;12\n", population_name="pop.csv")
    qpv.install_qpv(qpv_file.read_bytes(), "qp.geojson", population=qpv_population_file.read_bytes(), population_name="DEMO_2022.csv")
    assert qpv.load_qpv()["population"].notna().all()
    # A new layer without a table keeps the table that matches it.
    qpv.install_qpv(qpv_file.read_bytes(), "qp-bis.geojson")
    assert qpv.staff_source()["population"] == "DEMO_2022.csv" and qpv.load_qpv()["population"].notna().all()


def _upload(at, layer, population=None):
    uploaders = {u.label: u for u in at.file_uploader}
    uploaders["Couche des QPV"].set_value(layer)
    if population is not None:
        uploaders["Population INSEE par QPV (facultatif)"].set_value(population)
    next(b for b in at.button if b.label == "Charger la couche des QPV").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_staff_upload_the_qpv_file_then_the_coverage_shows_the_qpv(staff, qpv_file, qpv_population_file, shared_data):
    at = open_page(COVERAGE)
    assert any("depuis la page « Géographie de référence »" in i.value for i in at.info)
    at.switch_page(PAGE)
    at.run()
    assert [t.label for t in at.text_input] == ["Identifiant", "Mot de passe"] and not at.file_uploader  # staff only
    login(at, "alice", PASSWORD)
    assert any("couche non chargée" in w.value for w in at.warning)
    region = (shared_data / "communes_geo_occitanie_2018" / "region-occitanie.geojson").read_bytes()
    _upload(at, ("region.geojson", region, "application/geo+json"))
    assert any("ne sont pas des codes de quartier prioritaire" in e.value for e in at.error)
    assert qpv.staff_files() == (None, None)
    _upload(
        at, ("qp.geojson", qpv_file.read_bytes(), "application/geo+json"), ("DEMO_2022.csv", qpv_population_file.read_bytes(), "text/csv")
    )
    assert not at.error, [e.value for e in at.error]
    assert any(
        "Couche des QPV chargée : 105 quartiers d'Occitanie (génération 2015), population de « DEMO_2022.csv »" in s.value
        for s in at.success
    )
    assert any("105 quartiers d'Occitanie" in m.value and "fichier déposé par l'équipe : « qp.geojson »" in m.value for m in at.markdown)
    at.switch_page(COVERAGE)
    at.run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["QPV hors de portée"].endswith("/ 105")
    assert not any("n'est pas chargée" in i.value for i in at.info)
    assert any("génération 2015, 105 quartiers ; population INSEE connue pour 105" in c.value for c in at.caption)
