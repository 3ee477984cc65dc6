"""One writer per format: every CSV follows one spreadsheet convention, every GeoJSON is RFC 7946, nobody else writes files."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from cartography.publish import public_table
from geodata import coverage as cv
from geodata import export, writers
from geodata.cli import main
from geodata.errors import GeodataError
from geodata.importing import import_actors, rejected_csv
from tests.rfc7946 import assert_rfc7946

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOM = "\ufeff".encode()
HOSTILE = '=HYPERLINK("http://evil.example","clic")'


def _hostile_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"nom": [HOSTILE, "Muséum ; d'histoire, naturelle", "@SOMME(A1)"], "valeur": [1.5, float("nan"), -2.25], "n": [1, 2, 3]},
        geometry=[shapely.Point(1.444, 43.604), shapely.Point(2.35, 43.21), None],
        crs="EPSG:4326",
    )


def _assert_convention(data: bytes, sep: str) -> pd.DataFrame:
    """``data`` is exactly what the one CSV writer makes of its own content: BOM, ``sep``, CRLF, quoting, neutralised cells."""
    assert data.startswith(BOM)
    table = pd.read_csv(io.BytesIO(data), sep=sep, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(table.columns) > 1, "wrong separator"
    assert writers.csv_bytes(table, sep=sep) == data  # same writer: separator, line ends, quoting, header
    for col in table.columns:
        assert not col.startswith(("=", "+", "@", "\t", "\r")), col
        for value in table[col]:
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (col, value)
    return table


# -- one CSV convention ----------------------------------------------------------------------------------------------


def test_csv_writer_convention():
    data = writers.csv_bytes(_hostile_layer())
    assert data.startswith(BOM)
    lines = data[len(BOM) :].decode("utf-8").split("\r\n")
    assert lines[0] == "nom;valeur;n"  # geometry dropped
    assert lines[1] == '"\'=HYPERLINK(""http://evil.example"",""clic"")";1,5;1'  # neutralised, decimal comma
    assert lines[2] == "\"Muséum ; d'histoire, naturelle\";;2"  # missing number: empty cell
    assert writers.csv_bytes(_hostile_layer(), sep=",").decode("utf-8-sig").split("\r\n")[1].endswith(",1.5,1")
    with pytest.raises(GeodataError, match="'\\\\t'"):
        writers.csv_bytes(_hostile_layer(), sep="\t")


def test_every_spreadsheet_csv_follows_the_convention():
    """Exports and the static site: ';' and a decimal comma."""
    layer = _hostile_layer()
    archive = export.export_layers({"zones": layer}, "csv", private=False).data
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        exported = _assert_convention(zf.read("zones.csv"), ";")
        _assert_convention(zf.read("metadonnees.csv"), ";")
    assert exported.loc[0, "nom"] == "'" + HOSTILE and exported.loc[0, "valeur"] == "1,5" and exported.loc[0, "longitude"] == "1,444"
    published = _assert_convention(writers.csv_bytes(public_table(layer)), ";")  # what publish_site writes (write_csv)
    assert published.loc[0, "nom"] == "'" + HOSTILE and published.loc[1, "longitude"] == "2,35"


def test_every_plain_csv_follows_the_convention(tmp_path, monkeypatch):
    """Coverage layers, import rejects and the geocode command's tables: the same convention (';', decimal comma)."""
    sep = ";"
    coverage = _assert_convention(cv.to_bytes(_hostile_layer(), "csv"), sep)
    assert coverage.loc[0, "nom"] == "'" + HOSTILE and coverage.loc[0, "valeur"] == "1,5"
    survey = "nom;commune;code_postal\n;=cmd|' /C calc'!A0;31000\nMuséum;Toulouse;31000\n".encode()
    rejects = _assert_convention(rejected_csv(import_actors(survey, filename="enquete.csv")), sep)
    assert rejects["commune"].tolist() == ["'=cmd|' /C calc'!A0"]
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "sortie.csv"
    assert main(["geocode", str(FIXTURES / "hostiles.csv"), "-o", str(out), "--offline"]) == 0
    table = _assert_convention(out.read_bytes(), sep)
    assert table["nom"].str.startswith("'=HYPERLINK(").any()
    for extra in tmp_path.glob("sortie_*.csv"):  # rejects and rows to check, when there are some
        _assert_convention(extra.read_bytes(), sep)


def _mixed_layer(n: int = 7) -> gpd.GeoDataFrame:
    """Every kind of column the writers convert (booleans, nullable booleans, floats, formulas), ``n`` rows."""
    return gpd.GeoDataFrame(
        {"nom": [HOSTILE if j % 3 == 0 else f"Acteur {j}" for j in range(n)], "valeur": [j / 4 if j % 2 else float("nan") for j in range(n)],
         "rural": pd.array([True, False, None] * (n // 3) + [True] * (n % 3), dtype="boolean"), "qpv": [j % 2 == 0 for j in range(n)],
         "drapeau": ["à voir" if j == 0 else bool(j % 2) for j in range(n)]},
        geometry=[shapely.Point(1 + j / 100, 43 + j / 100) if j != 2 else None for j in range(n)], crs="EPSG:4326",
    )


def test_files_written_piece_by_piece_are_the_same_bytes(tmp_path):
    """CSV and GeoJSON written a few rows at a time (bounded memory at 200,000 actors) equal the one-piece bytes, header once."""
    layer = _mixed_layer()
    csv_parts = list(writers.csv_parts(layer, rows=3))
    assert len(csv_parts) == 3 and csv_parts[0].startswith(BOM) and not csv_parts[1].startswith(BOM)
    whole = b"".join(writers.csv_parts(layer, rows=len(layer)))
    assert b"".join(csv_parts) == whole == writers.csv_bytes(layer)
    # How a column is written is decided on the whole column: a piece holding only booleans of a mixed column writes them as the others.
    lines = [line.split(";") for line in whole.decode("utf-8-sig").split("\r\n")[1:-1]]
    assert [line[-1] for line in lines] == ["à voir", "True", "False", "True", "False", "True", "False"]
    assert [line[2] for line in lines] == ["oui", "non", "", "oui", "non", "", "oui"]
    assert len(whole.decode("utf-8-sig").split("\r\n")) == len(layer) + 2  # one header, one line per row, the final CRLF
    assert writers.write_csv(tmp_path / "x.csv", layer).read_bytes() == whole
    gj_parts = list(writers.geojson_parts(layer, metadata={"source": "test"}, rows=2))
    assert len(gj_parts) == 6 and b"".join(gj_parts) == writers.to_geojson(layer, metadata={"source": "test"})
    doc = json.loads(writers.write_geojson(tmp_path / "x.geojson", layer, metadata={"source": "test"}).read_bytes())
    assert_rfc7946(doc)
    assert [f["properties"]["nom"] for f in doc["features"]] == layer["nom"].tolist() and doc["metadata"] == {"source": "test"}
    assert doc["features"][2]["geometry"] is None and doc["features"][1]["properties"]["valeur"] == 0.25
    empty = layer.iloc[:0]
    assert json.loads(writers.to_geojson(empty)) == {"type": "FeatureCollection", "features": []}
    assert writers.csv_bytes(empty) == BOM + b"nom;valeur;rural;qpv;drapeau\r\n"


# -- one GeoJSON writer ----------------------------------------------------------------------------------------------


def test_geocode_command_geojson_is_rfc7946(tmp_path, monkeypatch):
    """The geocode command's GeoJSON passes the exports' RFC 7946 check (GDAL's driver used to add a ``crs`` member)."""
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "sortie.geojson"
    assert main(["geocode", str(FIXTURES / "doublons.csv"), "-o", str(out), "--offline"]) == 0
    doc = json.loads(out.read_bytes())
    assert_rfc7946(doc)
    assert len(doc["features"]) == 3 and all(f["geometry"]["type"] == "Point" for f in doc["features"])
    assert pyogrio.read_dataframe(out).crs.to_epsg() == 4326


def test_every_geojson_output_is_rfc7946(tmp_path):
    """Coverage downloads, the static site's commune outlines and a polygon in Lambert-93 all come out as RFC 7946."""
    from cartography.base import communes_outlines_geojson

    square = shapely.box(600_000, 6_300_000, 610_000, 6_310_000).difference(shapely.box(602_000, 6_302_000, 604_000, 6_304_000))
    metric = gpd.GeoDataFrame({"code_insee": ["00001"], "nom": ["Trouée"]}, geometry=[shapely.orient_polygons(square, exterior_cw=True)], crs="EPSG:2154")
    for data in (cv.to_bytes(metric, "geojson"), communes_outlines_geojson(metric.to_crs(4326)).encode(), writers.to_geojson(_hostile_layer())):
        assert_rfc7946(json.loads(data))
    written = writers.write_layer(_hostile_layer(), tmp_path / "a" / "couche.geojson")
    assert json.loads(written.read_bytes())["features"][0]["properties"]["nom"] == HOSTILE  # GeoJSON is not for spreadsheets: as is
    with pytest.raises(GeodataError, match="CRS"):
        writers.to_geojson(gpd.GeoDataFrame({"nom": ["sans CRS"]}, geometry=[shapely.Point(1, 43)]))


def test_geopackage_writer_round_trips(tmp_path):
    layer = _hostile_layer()
    path = writers.write_geopackage({"zones": layer, "notes": pd.DataFrame({"cle": ["a"], "valeur": ["b"]})}, tmp_path / "x.gpkg", crs="EPSG:2154")
    assert {row[0] for row in pyogrio.list_layers(path)} == {"zones", "notes"}
    back = pyogrio.read_dataframe(path, layer="zones")
    assert back.crs.to_epsg() == 2154 and back["nom"].tolist() == layer["nom"].tolist()
    assert writers.write_layer(layer, tmp_path / "seule.gpkg").exists()
    with pytest.raises(GeodataError, match="'.shp'"):
        writers.write_layer(layer, tmp_path / "x.shp")


# -- nobody else writes ----------------------------------------------------------------------------------------------

#: Calls that serialise a table or a layer. Outside geodata/writers.py each one must be listed below with its reason.
WRITING = re.compile(r"\.to_csv\(|\.to_file\(|write_dataframe\(|orjson\.dumps\(|\.to_json\(|shapely\.to_geojson\(")
ALLOWED = {
    ("geodata/directory.py", "stored.to_csv(index=False)"): "hashed for a cache key, never written",
    ("benchmarks/geocoding.py", 'table.to_csv(index=False, sep=";").encode("cp1252"'): "benchmark input imitating a survey file",
    ("cartography/base.py", "json.loads(outlines.to_json(drop_id=True))"): "department outlines embedded in the map page",
    ("cartography/choropleth.py", ".to_json(drop_id=True)"): "choropleth data embedded in the map page",
    ("cartography/coverage_map.py", "zone_geometry = json.loads(shapely.to_geojson("): "reach zone embedded in the map page",
    ("cartography/coverage_map.py", "geoms = shapely.to_geojson("): "coverage layers embedded in the map page (escaped properties)",
}


def _writing_calls() -> list[tuple[str, str]]:
    found = []
    for path in sorted([*ROOT.glob("geodata/**/*.py"), *ROOT.glob("cartography/**/*.py"), *ROOT.glob("benchmarks/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "geodata/writers.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if WRITING.search(line) and not line.lstrip().startswith("#"):
                found.append((rel, line.strip()))
    return found


def test_only_the_writers_module_writes_tables_and_layers():
    calls = _writing_calls()
    stray = [(rel, line) for rel, line in calls if not any(rel == f and snippet in line for f, snippet in ALLOWED)]
    assert stray == []
    # Every exception still exists where its file does (a stale entry would hide a new call in the same file).
    for f, snippet in ALLOWED:
        assert not (ROOT / f).exists() or any(rel == f and snippet in line for rel, line in calls), (f, snippet)


def test_the_writing_pattern_catches_what_it_must():
    for line in ['df.to_csv(path, index=False)', 'gdf.to_file(p, driver="GPKG")', "pyogrio.write_dataframe(gdf, p)", "orjson.dumps(x)",
                 "gdf.to_json(drop_id=True)", "shapely.to_geojson(arr)"]:  # fmt: skip
        assert WRITING.search(line), line
    assert not WRITING.search("writers.csv_bytes(table)")
