"""Import of actor files: every format and encoding, mapping, validation report, hostile strings, duplicates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geodata.errors import DataFileError
from geodata.importing import ROW, import_actors, suggest_mapping

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAME_CONTENT = ["acteurs_utf8_virgule.csv", "acteurs_bom_point_virgule.csv", "acteurs_cp1252.csv", "acteurs.xlsx"]


@pytest.mark.parametrize("name", SAME_CONTENT)
def test_every_table_format_reads_the_same_actors(name):
    result = import_actors(FIXTURES / name)
    a = result.actors
    assert list(a["nom"]) == ["Quai des Savoirs", "Observatoire du Pic du Midi", "Grotte du Mas d'Azil", "Labo CEDEX", "Fablab de Saint-Girons"]
    assert a.at[1, "departement_declare"] == "Hautes-Pyrénées"  # accents survive every encoding
    assert list(a["code_postal"]) == ["31000", "65200", "09290", "31062", "09200"]  # leading zero restored
    assert list(a["type_structure"]) == ["musée/centre de sciences", "site de tourisme scientifique", "site de tourisme scientifique",
                                         "laboratoire/université", "Fab Lab"]
    assert a.at[0, "site_web"] == "https://www.quaidessavoirs.fr"
    assert result.mapping["Nom de la structure"] == "nom" and result.mapping["Ville"] == "commune"
    assert result.mapping["Département"] == "departement_declare" and result.mapping["Courriel"] == "contact_email"
    assert result.rejected.empty
    mail = result.report[result.report["champ"] == "contact_email"]
    assert list(mail[ROW]) == [a.at[3, ROW]] and "courriel" in mail["motif"].iloc[0]


def test_row_numbers_are_those_of_the_file():
    csv_rows = import_actors(FIXTURES / "acteurs_utf8_virgule.csv").actors[ROW]
    assert list(csv_rows) == [2, 3, 4, 5, 6]
    xlsx_rows = import_actors(FIXTURES / "acteurs.xlsx").actors[ROW]
    assert list(xlsx_rows) == [4, 5, 6, 7, 8]  # title line, blank line, header


@pytest.mark.parametrize("name", ["acteurs.geojson", "acteurs_lambert93.gpkg"])
def test_geographic_files_give_coordinates(name):
    result = import_actors(FIXTURES / name)
    a = result.actors
    assert list(a["nom"]) == ["Cité de l'espace", "Planétarium de Montpellier", "Sans géométrie"]
    assert float(a.at[0, "longitude"]) == pytest.approx(1.4933, abs=1e-5)  # Lambert-93 reprojected to lon/lat
    assert float(a.at[0, "latitude"]) == pytest.approx(43.5866, abs=1e-5)
    assert a.at[2, "longitude"] == "" and a.at[2, "commune"] == "Albi"


def test_english_headers_and_swapped_coordinates():
    result = import_actors(FIXTURES / "acteurs_anglais.csv")
    assert suggest_mapping(["Name", "Postcode", "City"]) == {"Name": "nom", "Postcode": "code_postal", "City": "commune"}
    a = result.actors
    assert a.at[0, "type_structure"] == "musée/centre de sciences"
    assert (a.at[1, "latitude"], a.at[1, "longitude"]) == ("43.610800", "3.876700")
    swapped = result.report[result.report["motif"].str.contains("inversées")]
    assert list(swapped[ROW]) == [3]


def test_manual_mapping_overrides_automatic_one():
    result = import_actors(FIXTURES / "sans_nom.csv", mapping={"Ville": "nom", "Code postal": "code_postal"})
    assert result.actors.at[0, "nom"] == "Toulouse"
    assert result.actors.at[0, "commune"] == ""
    with pytest.raises(DataFileError, match="absentes du fichier"):
        import_actors(FIXTURES / "sans_nom.csv", mapping={"Colonne fantôme": "nom"})
    with pytest.raises(DataFileError, match="Champs inconnus"):
        import_actors(FIXTURES / "sans_nom.csv", mapping={"Ville": "pas_un_champ"})


def test_hostile_strings_are_kept_as_plain_text():
    raw = pd.read_csv(FIXTURES / "hostiles.csv", dtype=str, keep_default_na=False)
    a = import_actors(FIXTURES / "hostiles.csv").actors
    assert list(a["nom"]) == list(raw["nom"])  # unchanged: escaping happens at output
    assert a.at[0, "nom"] == "<script>alert('x')</script>"
    assert a.at[1, "nom"] == "${alert(document.cookie)}"
    assert a.at[2, "nom"].startswith("=HYPERLINK(")
    assert a.at[4, "presentation_resume"] == "ligne 1\nligne 2"
    assert a.at[0, "site_web"] == ""  # javascript: is not a web address


def test_duplicates_flagged_and_rejected_rows_kept():
    result = import_actors(FIXTURES / "doublons.csv")
    a = result.actors
    assert list(a["doublon_de"]) == ["", "2", ""]  # same name and commune despite case and accents; other commune is not a duplicate
    assert a["id"].is_unique
    rej = result.rejected
    assert list(rej[ROW]) == [5, 6]
    assert "nom de la structure absent" in rej["motif"].iloc[0]
    assert "aucune information de lieu" in rej["motif"].iloc[1]
    assert rej.iloc[0]["commune"] == "Castres"  # the original row is there, downloadable
    assert len(result.actors) + len(result.rejected) == 5


def test_numbered_names_are_not_duplicates():
    data = "nom;commune\nCollège 1;Albi\nCollège 2;Albi\nCOLLEGE 1;albi\n".encode()
    a = import_actors(data, filename="c.csv").actors
    assert list(a["doublon_de"]) == ["", "", "2"]


def test_ids_are_stable_across_reimports():
    first = import_actors(FIXTURES / "doublons.csv").actors["id"]
    again = import_actors((FIXTURES / "doublons.csv").read_bytes(), filename="doublons.csv").actors["id"]
    assert list(first) == list(again)


@pytest.mark.parametrize(
    ("name", "message"),
    [("vide.csv", "est vide"), ("sans_nom.csv", "nom de la structure"), ("sans_lieu.csv", "Aucune colonne de lieu")],
)
def test_unusable_files_raise_clear_errors(name, message):
    with pytest.raises(DataFileError, match=message):
        import_actors(FIXTURES / name)


def test_header_only_gives_an_empty_directory():
    result = import_actors(FIXTURES / "entete_seule.csv")
    assert result.actors.empty and result.rejected.empty


def test_unknown_format_and_missing_file():
    with pytest.raises(DataFileError, match="Format non pris en charge"):
        import_actors(b"abc", filename="acteurs.pdf")
    with pytest.raises(DataFileError, match="introuvable"):
        import_actors(FIXTURES / "absent.csv")


def test_real_survey_like_files(shared_data):
    museums = import_actors(shared_data / "musees_de_france" / "liste-et-localisation-des-musees-de-france.csv")
    assert len(museums.actors) + len(museums.rejected) == 1222
    assert museums.mapping["nom_officiel_du_musee"] == "nom"
    rnsr = import_actors(shared_data / "rnsr_structures_recherche_occitanie" / "fr-esr-structures-recherche-publiques-actives_occitanie.csv")
    assert len(rnsr.actors) == 344
    assert (rnsr.actors["type_structure"] == "laboratoire/université").mean() > 0.9


# -- the staff page (the login gate is stubbed out here; the staff issue tests it) ------------------


def test_import_page_end_to_end(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    import pages.common
    from geodata import corrections
    from geodata.settings import get_settings

    monkeypatch.setattr(pages.common, "require_staff", lambda: "alice")
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    page = Path(__file__).resolve().parents[1] / "pages" / "import_geocodage.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    at.checkbox[0].check().run()
    assert any("124 acteurs retenus" in m.value for m in at.markdown), [m.value for m in at.markdown]
    next(b for b in at.button if b.label == "Géocoder").click().run()
    assert not at.exception, at.exception
    placed = next(m for m in at.metric if m.label == "Placés")
    assert placed.value == "124 / 124"
    assert not any(s.label == "Commune" for s in at.selectbox)  # the form starts from the actor's point
    next(r for r in at.radio if r.label == "Corriger par").set_value("Choisir la commune").run()
    commune = next(s for s in at.selectbox if s.label == "Commune")
    commune.set_value("09289")  # Lorp-Sentaraille for the first actor (Grotte de Niaux), submitted with the form
    next(b for b in at.button if b.label == "Enregistrer la correction").click().run()
    assert not at.exception, at.exception
    saved = corrections.load_corrections(settings=get_settings())
    assert list(saved.values())[0]["code_insee"] == "09289"
    assert list(saved.values())[0]["auteur"] == "alice"  # the history of corrections names its author
    assert any("par alice : Niaux (09217)" in m.value and "→ Lorp-Sentaraille (09289)" in m.value for m in at.success), [m.value for m in at.success]  # what changed, said


def _two_sheet_workbook(path: Path) -> Path:
    """A notice sheet first, the answers second: what survey tools export."""
    answers = pd.read_csv(FIXTURES / "acteurs_utf8_virgule.csv", dtype=str, keep_default_na=False)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"Notice": ["Enquête régionale CSTI 2026", "Une ligne par structure"]}).to_excel(writer, sheet_name="Notice", index=False)
        answers.to_excel(writer, sheet_name="Réponses", index=False)
        answers.iloc[:2].to_excel(writer, sheet_name="Réponses 2025", index=False)
    return path


def test_workbook_sheet_with_known_columns_is_read_by_default(tmp_path):
    result = import_actors(_two_sheet_workbook(tmp_path / "enquete.xlsx"))
    assert result.parts == ["Notice", "Réponses", "Réponses 2025"] and result.part == "Réponses"
    assert len(result.actors) == 5 and list(result.actors[ROW]) == [2, 3, 4, 5, 6]
    assert result.summary.startswith("Feuille « Réponses » (sur 3) : 5 acteurs retenus")


def test_workbook_sheet_chosen_by_name(tmp_path):
    path = _two_sheet_workbook(tmp_path / "enquete.xlsx")
    assert list(import_actors(path, sheet="Réponses 2025").actors["nom"]) == ["Quai des Savoirs", "Observatoire du Pic du Midi"]
    with pytest.raises(DataFileError, match=r"pas de feuille 'Bilan'.*'Notice', 'Réponses', 'Réponses 2025'"):
        import_actors(path, sheet="Bilan")
    with pytest.raises(DataFileError, match="nom de la structure"):
        import_actors(path, sheet="Notice")


def test_geopackage_layer_with_known_columns_is_read_by_default(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    path = tmp_path / "partenaires.gpkg"
    gpd.GeoDataFrame({"titre": ["emprise"]}, geometry=[Point(1.4, 43.6).buffer(0.1)], crs=4326).to_file(path, layer="emprise")
    gpd.read_file(FIXTURES / "acteurs_lambert93.gpkg").to_file(path, layer="lieux")
    result = import_actors(path)
    assert result.parts == ["emprise", "lieux"] and result.part == "lieux"
    assert result.summary.startswith("Couche « lieux » (sur 2) : 3 acteurs retenus")
    assert list(result.actors["nom"]) == ["Cité de l'espace", "Planétarium de Montpellier", "Sans géométrie"]
    with pytest.raises(DataFileError, match=r"pas de couche 'points'.*'emprise', 'lieux'"):
        import_actors(path, sheet="points")


@pytest.mark.parametrize("name", ["acteurs_utf8_virgule.csv", "acteurs.geojson"])
def test_sheet_on_a_single_table_format_is_refused(name):
    with pytest.raises(DataFileError, match="retirez le choix"):
        import_actors(FIXTURES / name, sheet="Réponses")


def test_import_page_offers_the_sheets(monkeypatch, tmp_path):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import pages.common

    monkeypatch.setattr(pages.common, "require_staff", lambda: None)
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    data = _two_sheet_workbook(tmp_path / "enquete.xlsx").read_bytes()

    class Upload:
        name = "enquete.xlsx"

        def getvalue(self):
            return data

    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: Upload())
    page = Path(__file__).resolve().parents[1] / "pages" / "import_geocodage.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    sheet = next(s for s in at.selectbox if s.label == "Feuille du classeur")
    assert sheet.value == "Réponses" and list(sheet.options) == ["Notice", "Réponses", "Réponses 2025"]
    assert any("5 acteurs retenus" in m.value for m in at.markdown)
    sheet.set_value("Réponses 2025").run()
    assert not at.exception, at.exception
    assert any("Feuille « Réponses 2025 » (sur 3) : 2 acteurs retenus" in m.value for m in at.markdown), [m.value for m in at.markdown]


def test_import_page_treats_a_corrected_file_of_the_same_name_and_size_as_new(monkeypatch, tmp_path):
    """Staff fix a typo and upload the file again: the previous file's geocoding must not be shown for it."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import pages.common

    monkeypatch.setattr(pages.common, "require_staff", lambda: None)
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    first = (FIXTURES / "acteurs_utf8_virgule.csv").read_bytes()
    corrected = first.replace(b"Quai des Savoirs,", b"Quai des Savoirz,")
    assert len(corrected) == len(first) and corrected != first

    class Upload:
        name = "enquete.csv"
        data = first

        def getvalue(self):
            return self.data

    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: Upload())
    page = Path(__file__).resolve().parents[1] / "pages" / "import_geocodage.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.run()
    next(b for b in at.button if b.label == "Géocoder").click().run()
    assert not at.exception, at.exception
    assert [m.label for m in at.metric if m.label == "Placés"] == ["Placés"]
    assert any("Quai des Savoirs" in o for o in next(s for s in at.selectbox if s.label == "Acteur").options)

    Upload.data = corrected
    at.run()
    assert not at.exception, at.exception
    assert not [m for m in at.metric if m.label == "Placés"], "les résultats du fichier précédent ne valent pas pour le fichier corrigé"
    next(b for b in at.button if b.label == "Géocoder").click().run()
    options = next(s for s in at.selectbox if s.label == "Acteur").options
    assert any("Quai des Savoirz" in o for o in options) and not any("Quai des Savoirs" in o for o in options)
