"""Import hygiene: invisible characters, duplicated columns, over-long cells, encodings, archives, broken files, formulas.

Every case checks the French message and that no row is lost: rows in = rows kept + rows set aside.
"""

from __future__ import annotations

import codecs
import json
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest

from geodata.actors import FIELDS_BY_NAME
from geodata.errors import DataFileError
from geodata.importing import REPORT_VALUE_LENGTH, ROW, import_actors, read_table

ROOT = Path(__file__).resolve().parents[1]
#: What a message shown to staff must never contain: temporary paths, GDAL's own English text, internal columns.
NOT_FOR_USERS = ("/tmp", "vsimem", "vsizip", "not recognized", "__lon", "__lat", "Traceback")


def balanced(result, rows_in: int) -> None:
    assert len(result.actors) + len(result.rejected) == rows_in, (len(result.actors), len(result.rejected), rows_in)


def remarks(result, motif: str):
    """Report rows whose reason contains ``motif``."""
    return result.report[result.report["motif"].str.contains(motif, regex=False)]


def refused(data: bytes, filename: str) -> str:
    with pytest.raises(DataFileError) as err:
        import_actors(data, filename=filename)
    message = str(err.value)
    for text in NOT_FOR_USERS:
        assert text not in message, message
    return message


# -- invisible characters ---------------------------------------------------------------------------


def test_control_characters_and_ansi_escapes_are_removed_with_a_warning_never_a_cut():
    data = (b"nom;commune\n"
            b"Mus\0ee;Albi\n"
            b"\x1b[31mRouge\x1b[0m;Cas\atres\n"
            b"\0\0\0;Foix\n"
            b"Sans souci;Rodez\n")
    result = import_actors(data, filename="enquete.csv")
    assert list(result.actors["nom"]) == ["Musee", "Rouge", "Sans souci"]  # the text after the NUL is kept
    assert result.actors.at[1, "commune"] == "Castres"
    found = remarks(result, "caractères de contrôle supprimés")
    assert list(zip(found[ROW], found["champ"])) == [(2, "nom"), (3, "nom"), (3, "commune"), (4, "nom")]
    assert set(found["gravite"]) == {"avertissement"}
    assert found["valeur"].iloc[0] == "Mus␀ee"  # shown, not hidden, in the report
    assert "NUL" in found["motif"].iloc[0] and "ESC [31m" in found["motif"].iloc[1]
    # A name made only of NULs is no name: the row is set aside, with the row and the fix.
    assert list(result.rejected[ROW]) == [4]
    assert "nom de la structure absent" in result.rejected["motif"].iloc[0]
    assert not any("\0" in str(v) for v in result.rejected.to_numpy().ravel())
    balanced(result, 4)


# -- duplicated columns -----------------------------------------------------------------------------


def _workbook(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_duplicated_column_names_are_reported_with_their_positions(tmp_path, kind):
    rows = [["Nom", "Commune", "nom", "Remarque", "Remarque"], ["Muséum", "Toulouse", "Autre nom", "a", "b"], ["Grotte", "Niaux", "", "", ""]]
    if kind == "csv":
        path = tmp_path / "enquete.csv"
        path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    else:
        path = _workbook(tmp_path / "enquete.xlsx", [["Enquête CSTI 2026"], [], *rows])  # title line above the header
    header_row = 1 if kind == "csv" else 3
    result = import_actors(path)
    found = remarks(result, "en double")
    assert list(found[ROW]) == [header_row, header_row]
    assert "colonne « Nom » en double (colonnes 1 et 3) : seule la colonne 1 est lue pour le champ 'nom'" in found["motif"].iloc[0]
    assert "(colonnes 4 et 5)" in found["motif"].iloc[1]
    assert "correspondance des colonnes" in found["correction"].iloc[0]
    assert list(result.actors["nom"]) == ["Muséum", "Grotte"]  # the first column is the one read
    assert "nom (colonne 3)" in result.unmapped and "Remarque (colonne 5)" in result.unmapped  # still there, to map by hand
    balanced(result, 2)


# -- over-long fields -------------------------------------------------------------------------------


def test_over_long_fields_are_cut_to_the_schema_limit_with_a_warning(tmp_path):
    huge = "x" * 5_000_000
    path = tmp_path / "enquete.csv"
    path.write_text("nom;commune;presentation courte;presentation detaillee\n"
                    f"{'Musée ' * 80};Albi;{'Une phrase. ' * 30};{huge}\n"
                    "Court;Foix;Bref.;Détail.\n", encoding="utf-8")
    result = import_actors(path)
    a = result.actors
    limits = {n: FIELDS_BY_NAME[n].max_length for n in ("nom", "presentation_resume", "presentation_detail")}
    assert limits["presentation_resume"] == 280  # the schema's rule for the summary
    for name, limit in limits.items():
        assert len(a.at[0, name]) == limit and a.at[0, name].endswith("…")
    assert (a.at[1, "nom"], a.at[1, "presentation_resume"]) == ("Court", "Bref.")
    found = remarks(result, "texte trop long")
    assert list(zip(found[ROW], found["champ"])) == [(2, "nom"), (2, "presentation_resume"), (2, "presentation_detail")]
    assert "(5000000 caractères, limite 10000) : tronqué" in found["motif"].iloc[2]
    assert "« Présentation courte » à 280 caractères au plus" in found["correction"].iloc[1]
    assert found["valeur"].str.len().max() <= REPORT_VALUE_LENGTH  # the report shows the start, not 5 MB
    balanced(result, 2)


# -- encodings --------------------------------------------------------------------------------------

TEXT = "Nom de la structure;Ville\nMusée des Jacobins;Auch\nObservatoire;Hautes-Pyrénées\n"


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-16"),  # BOM + native order, what Excel's "Texte Unicode" writes
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
        codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"),
        TEXT.encode("utf-16-le"),  # no byte-order mark: recognised by its NUL bytes
    ],
    ids=["utf-16", "utf-16-be", "utf-32", "utf-32-be", "utf-16-le-sans-bom"],
)
def test_utf16_and_utf32_files_are_read(encoded):
    result = import_actors(encoded, filename="enquete.csv")
    assert list(result.actors["nom"]) == ["Musée des Jacobins", "Observatoire"]
    assert result.actors.at[1, "commune"] == "Hautes-Pyrénées"
    assert result.report.empty
    balanced(result, 2)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF16_LE + "Nom;Ville\n".encode("utf-16-le") + b"\x00\xdc", "UTF-16"),  # a lone surrogate
        (codecs.BOM_UTF8 + b"Nom;Ville\nMus\xe9e;Albi\n", "UTF-8"),  # a UTF-8 mark, then Windows bytes
        (b"\x00\x00\x00\x01\xff\x00\x00\xd8" * 50, "UTF-16 ou UTF-32"),
    ],
)
def test_a_file_that_cannot_be_decoded_names_the_encoding(data, encoding):
    message = refused(data, "enquete.csv")
    assert encoding in message and "CSV UTF-8" in message


# -- archives and geographic files ------------------------------------------------------------------


def _shapefile_zip(tmp_path: Path, *, leave_out: str | None = None) -> Path:
    import geopandas as gpd
    from shapely.geometry import Point

    folder = tmp_path / "shp"
    folder.mkdir()
    gdf = gpd.GeoDataFrame({"nom": ["Cité de l'espace", "Muséum"], "code_postal": ["31500", "31400"], "commune": ["Toulouse", "Toulouse"]},
                           geometry=[Point(1.4933, 43.5866), Point(1.4491, 43.5941)], crs=4326).to_crs(2154)
    gdf.to_file(folder / "acteurs.shp", encoding="UTF-8")
    path = tmp_path / "acteurs_shp.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            if part.suffix != leave_out:
                archive.write(part, f"export/{part.name}")  # inside a folder, as a zip made from the file manager
    return path


def test_zipped_shapefile_is_read(tmp_path):
    result = import_actors(_shapefile_zip(tmp_path))
    a = result.actors
    assert list(a["nom"]) == ["Cité de l'espace", "Muséum"]
    assert list(a["code_postal"]) == ["31500", "31400"]  # "code_posta": DBF names are cut to 10 characters
    assert float(a.at[0, "longitude"]) == pytest.approx(1.4933, abs=1e-5)  # Lambert-93 reprojected to lon/lat
    assert float(a.at[0, "latitude"]) == pytest.approx(43.5866, abs=1e-5)
    balanced(result, 2)


def test_zip_archives_that_hold_no_usable_shapefile_say_so(tmp_path):
    message = refused(_shapefile_zip(tmp_path, leave_out=".dbf").read_bytes(), "acteurs.zip")
    assert "Shapefile 'acteurs'" in message and "incomplet" in message and ".dbf" in message
    other = tmp_path / "notes.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("lisez-moi.txt", "rien")
    message = refused(other.read_bytes(), "notes.zip")
    assert "ni Shapefile (.shp) ni classeur" in message and "lisez-moi.txt" in message
    assert "classeur" in message and "illisible" not in message  # no longer "an unreadable workbook"


def _geopackage_without_layers(tmp_path: Path) -> bytes:
    import geopandas as gpd
    from shapely.geometry import Point

    path = tmp_path / "vide.gpkg"
    gpd.GeoDataFrame({"nom": ["x"]}, geometry=[Point(1, 43)], crs=4326).to_file(path, layer="brouillon")
    with sqlite3.connect(path) as db:  # what is left when the only layer was deleted
        db.execute("DELETE FROM gpkg_contents")
        db.execute("DELETE FROM gpkg_geometry_columns")
        db.execute('DROP TABLE "brouillon"')
    return path.read_bytes()


def test_geopackage_without_layers_and_broken_json_say_so_in_french(tmp_path):
    assert "ne contient aucune couche" in refused(_geopackage_without_layers(tmp_path), "partenaires.gpkg")
    assert "n'est pas un GeoPackage" in refused(b"pas une base", "partenaires.gpkg")
    nested = b"[" * 100_000 + b"]" * 100_000
    assert "JSON trop imbriqué" in refused(nested, "acteurs.geojson")
    deep_properties = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"nom": "A", "x": json.loads("[" * 900 + "]" * 900)}}]}).encode()
    assert "JSON trop imbriqué" in refused(b"[" * 3000 + deep_properties + b"]" * 3000, "acteurs.geojson")
    assert "n'est pas un JSON valide (erreur ligne 2, colonne 15)" in refused(b'{"type": "FeatureCollection",\n "features": [,]}', "acteurs.json")
    assert "pas un GeoJSON lisible" in refused('[{"nom": "Musée"}]'.encode(), "acteurs.json")


def test_empty_feature_collection_says_no_feature():
    message = refused(b'{"type": "FeatureCollection", "features": []}', "acteurs.geojson")
    assert "ne contient aucune entité" in message


# -- CSV layout -------------------------------------------------------------------------------------


def test_csv_sep_line_and_title_lines_above_the_header():
    excel = b"sep=,\r\nNom de la structure,Ville\r\nQuai des Savoirs,Toulouse\r\n,Albi\r\n"
    result = import_actors(excel, filename="enquete.csv")
    assert list(result.actors["nom"]) == ["Quai des Savoirs"] and list(result.actors[ROW]) == [3]
    assert list(result.rejected[ROW]) == [4]  # row numbers are the file's lines, the sep= line counted
    balanced(result, 2)
    titled = ("Enquête régionale CSTI 2026, réponses au 1er mars\n"
              "Export du tableur partagé\n"
              "\n"
              "Nom de la structure;Code postal;Ville\n"
              "Muséum;31400;Toulouse\n"
              "\n"
              "Grotte de Niaux;09400;Niaux\n").encode("cp1252")
    result = import_actors(titled, filename="enquete.csv")
    assert list(result.actors["nom"]) == ["Muséum", "Grotte de Niaux"]
    assert list(result.actors[ROW]) == [5, 7]  # blank lines do not shift the numbering
    assert result.mapping == {"Nom de la structure": "nom", "Code postal": "code_postal", "Ville": "commune"}
    balanced(result, 2)


def test_cells_beyond_the_header_are_reported():
    result = import_actors(b"nom;commune\nA;Albi\nB;Foix;en trop\n", filename="enquete.csv")
    found = remarks(result, "sans en-tête")
    assert list(found[ROW]) == [1] and "colonne 3 sans en-tête mais remplie (lignes 3)" in found["motif"].iloc[0]
    assert result.unmapped == ["colonne_3"]
    balanced(result, 2)
    # Past the first rows the width is set: a longer row is refused with its line, not pandas' text.
    data = b"nom;commune\n" + b"A;Albi\n" * 30 + b"B;Foix;en trop;encore\n"
    message = refused(data, "enquete.csv")
    assert "ligne 32 : 4 cellules pour 2 colonnes" in message and "séparateur" in message


# -- workbooks --------------------------------------------------------------------------------------


def test_formulas_without_saved_values_say_to_save_after_recalculation(tmp_path):
    # openpyxl, like many programs, writes formulas without their results: read for values, they are empty.
    path = _workbook(tmp_path / "calcule.xlsx", [
        ["Nom de la structure", "Ville", "Code postal"],
        ['=CONCATENATE("Musée ";B2)', "Albi", "81000"],
        ["Grotte de Niaux", "=UPPER(\"niaux\")", "09400"],
        ["Muséum", "Toulouse", "31400"],
    ])
    result = import_actors(path)
    assert list(result.actors["nom"]) == ["Grotte de Niaux", "Muséum"]
    assert list(result.rejected[ROW]) == [2]
    reason = result.rejected["motif"].iloc[0]
    assert "formule" in reason and "nom de la structure absent" not in reason
    found = remarks(result, "formule")
    assert list(zip(found[ROW], found["champ"], found["gravite"])) == [(2, "nom", "rejet"), (3, "commune", "avertissement")]
    assert found["valeur"].iloc[0] == '=CONCATENATE("Musée ";B2)'
    assert all("enregistrez le classeur après recalcul" in c for c in found["correction"])
    balanced(result, 3)


def test_header_only_and_title_only_tables_read_empty(tmp_path):
    table = read_table(b"Enquete 2026\n\nnom;commune\n", filename="e.csv")
    assert table.empty and [c for c in table.columns if not c.startswith("__")] == ["nom", "commune"]


# -- the import page --------------------------------------------------------------------------------


def test_import_page_shows_a_hygiene_warning(monkeypatch, tmp_path):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import pages.common

    monkeypatch.setattr(pages.common, "require_staff", lambda: None)
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    data = "Nom de la structure;Ville\nMus\0ée Fenaille;Rodez\n\0;Albi\n".encode()

    class Upload:
        name = "enquete.csv"

        def getvalue(self):
            return data

    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: Upload())
    at = AppTest.from_file(str(ROOT / "pages" / "import_geocodage.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert any("1 acteurs retenus, 1 lignes rejetées" in m.value for m in at.markdown), [m.value for m in at.markdown]
    report = next(d.value for d in at.dataframe if "motif" in d.value.columns)
    shown = report[report["motif"].str.contains("caractères de contrôle supprimés")]
    assert list(shown[ROW]) == [2, 3] and shown["valeur"].iloc[0] == "Mus␀ée Fenaille"
