"""The directory of the app: placement, territorial enrichment, disagreement flags, corrections, on-disk cache."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import shapely

from geodata import corrections
from geodata.actors import FIELD_NAMES
from geodata.directory import ENRICHED_COLUMNS, SAMPLE_FILE, load_directory, place_and_enrich, read_actors
from geodata.errors import DataFileError
from geodata.importing import import_actors
from geodata.qpv import load_qpv
from geodata.rural import rural_table
from geodata.settings import get_settings
from geodata.territory import Territory


@pytest.fixture
def own_settings(tmp_path, settings):
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache", data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def territory_qpv(reference, qpv_file, settings):
    return Territory(reference, rural_table(reference.communes), load_qpv(settings=settings, path=qpv_file), {})


@pytest.fixture(scope="module")
def territory_plain(reference):
    return Territory(reference, rural_table(reference.communes), None, {"qpv": "absente"})


def test_sample_directory_fully_placed_offline(own_settings, reference, territory_plain):
    d = load_directory(settings=own_settings, territory=territory_plain)
    assert len(d) == 124
    assert d.crs.to_string() == "EPSG:4326"
    for col in (*FIELD_NAMES, "geometry", "geocodage_precision", "code_insee_lieu", "commune_lieu", "code_departement", "famille", *ENRICHED_COLUMNS):
        assert col in d.columns, col
    assert d.geometry.notna().all() and (d["geocodage_statut"] == "ok").all()
    assert set(d["code_departement"]) == {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}
    mas = d[d["commune"] == "Le Mas-d'Azil"].iloc[0]
    assert mas["code_insee_lieu"] == "09181" and mas["geocodage_precision"] == "municipality" and mas["geocodage_source"] == "gazetteer"
    assert d.loc[d["commune"] == "Le Garric", "code_insee_lieu"].iloc[0] == "81101"
    assert d["distance_qpv_m"].isna().all() and d["code_qp"].isna().all()  # no QPV layer: unknown, not zero
    assert d["rural"].notna().all()


def test_sample_gives_official_points_where_an_open_list_states_them(own_settings, reference, territory_plain):
    """Item 10 of issue 15: museums of the Musées de France list at their official point, the source named on
    each row; every other actor stays at its commune and says so."""
    d = load_directory(settings=own_settings, territory=territory_plain)
    official = d["source_position"] != ""
    assert official.sum() == 20
    assert d.loc[official, "source_position"].str.fullmatch(
        r"Liste et localisation des Musées de France \(ministère de la Culture, Licence Ouverte\), fiche M[0-9]{4}").all()
    assert d.loc[official, "source_position"].is_unique  # one official record per actor
    assert (d.loc[official, "geocodage_precision"] == "provided").all() and (d.loc[official, "geocodage_source"] == "fichier").all()
    assert (d.loc[~official, "geocodage_precision"] == "municipality").all()
    # The official point lies in the commune the row declares (a wrong match would land elsewhere).
    declared = import_actors(SAMPLE_FILE).actors.set_index("id")
    placed = d.set_index("id").loc[official.to_numpy()]
    gazetteer = place_and_enrich(declared.loc[placed.index].assign(latitude="", longitude="").reset_index(), territory_plain,
                                 settings=own_settings).set_index("id")
    assert (placed["code_insee_lieu"] == gazetteer.loc[placed.index, "code_insee_lieu"]).all()
    museum = d[d["nom"] == "Muséum de Toulouse"].iloc[0]
    assert museum["source_position"].endswith("fiche M7013") and museum["code_insee_lieu"] == "31555"


def test_directory_cached_on_disk_and_invalidated_by_a_correction(own_settings, reference, territory_plain):
    first = load_directory(settings=own_settings, territory=territory_plain)
    files = list((own_settings.cache_dir / "annuaire").glob("*.parquet"))
    assert len(files) == 1
    again = load_directory(settings=own_settings, territory=territory_plain)
    pd.testing.assert_frame_equal(pd.DataFrame(first.drop(columns="geometry")), pd.DataFrame(again.drop(columns="geometry")))
    actor = first.iloc[0]
    corrections.save_correction(actor["id"], reference=reference, code_insee="09289", settings=own_settings)  # Tarascon-sur-Ariège
    corrected = load_directory(settings=own_settings, territory=territory_plain)
    row = corrected[corrected["id"] == actor["id"]].iloc[0]
    assert row["code_insee_lieu"] == "09289" and row["geocodage_precision"] == "manual" and row["geocodage_source"] == "correction"


def test_qpv_code_and_distance(reference, territory_qpv, own_settings):
    qpv = territory_qpv.qpv
    inside = qpv.geometry.iloc[0].representative_point()
    actors = pd.DataFrame(
        {
            "id": ["a", "b"],
            "nom": ["Dans le quartier", "À la campagne"],
            "commune": ["", "Niaux"],
            "code_postal": ["", "09400"],
            "latitude": [f"{inside.y}", ""],
            "longitude": [f"{inside.x}", ""],
        }
    )
    d = place_and_enrich(actors, territory_qpv, settings=own_settings)
    assert d.at[0, "code_qp"] == qpv["code_qp"].iloc[0] and d.at[0, "distance_qpv_m"] == 0
    assert pd.isna(d.at[1, "code_qp"]) and d.at[1, "distance_qpv_m"] > 1000
    assert d.at[0, "geocodage_precision"] == "provided"
    assert bool(d.at[1, "rural"]) is True  # Niaux, a village


def test_disagreement_flags(territory_plain, own_settings):
    actors = pd.DataFrame(
        {
            "id": ["ok", "dep", "cp", "cedex"],
            "nom": ["Juste", "Mauvais département", "Mauvais code postal", "Cedex"],
            "commune": ["Toulouse", "Toulouse", "Toulouse", "TOULOUSE CEDEX 9"],
            "code_postal": ["31000", "31000", "81000", "31062"],
            "latitude": ["", "", "43.6045", ""],
            "longitude": ["", "", "1.4440", ""],
            "departement_declare": ["Haute-Garonne", "Tarn", "31", "31"],
        }
    )
    d = place_and_enrich(actors, territory_plain, settings=own_settings)
    assert list(d["alerte_departement"]) == [False, True, False, False]
    assert list(d["alerte_code_postal"]) == [False, False, True, False]


def test_rejected_and_unplaced_rows_are_kept(territory_plain, own_settings, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("nom;commune;code_postal\nConnu;Albi;81000\nInconnu;Atlantide;\n;Rodez;12000\n", encoding="utf-8")
    result = read_actors(f, settings=own_settings)
    assert len(result.rejected) == 1
    d = place_and_enrich(result.actors, territory_plain, settings=own_settings)
    assert len(d) == 2
    assert d.geometry.iloc[1] is None and d.at[1, "geocodage_statut"] == "non localisé"
    assert "Atlantide" in d.at[1, "geocodage_motif"]


def test_corrections_survive_reimport(reference, territory_plain, own_settings, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("Nom de la structure;Ville;Code postal\nMuséum;Toulouse;31000\n", encoding="utf-8")
    first = import_actors(f).actors
    corrections.save_correction(first.at[0, "id"], reference=reference, longitude=1.4497, latitude=43.5944, motif="entrée du jardin", settings=own_settings)
    # The survey is exported again, with another column order and an extra row.
    f.write_text("Code postal;Nom de la structure;Ville\n81000;Autre;Albi\n31000;Muséum;Toulouse\n", encoding="utf-8")
    again = place_and_enrich(import_actors(f).actors, territory_plain, settings=own_settings)
    row = again[again["nom"] == "Muséum"].iloc[0]
    assert (round(row.geometry.x, 4), round(row.geometry.y, 4)) == (1.4497, 43.5944)
    assert row["geocodage_precision"] == "manual" and "entrée du jardin" in row["geocodage_motif"]
    assert corrections.remove_correction(first.at[0, "id"], settings=own_settings)
    assert not corrections.load_corrections(settings=own_settings)


def test_correction_outside_occitanie_refused(reference, own_settings):
    with pytest.raises(DataFileError, match="hors d'Occitanie"):
        corrections.save_correction("x", reference=reference, longitude=2.35, latitude=48.85, settings=own_settings)
    with pytest.raises(DataFileError, match="inconnue"):
        corrections.save_correction("x", reference=reference, code_insee="75056", settings=own_settings)


def test_default_settings_need_no_network(monkeypatch, tmp_path, reference, territory_plain):
    monkeypatch.setenv("CSTI_OFFLINE", "0")  # even "online", the app's directory never calls the service

    def boom(*a, **k):
        raise AssertionError("network used")

    monkeypatch.setattr("geodata.geocoding.default_client", boom)
    s = dataclasses.replace(get_settings(), cache_dir=tmp_path / "c", data_dir=tmp_path / "d")
    assert load_directory(settings=s, territory=territory_plain).geometry.notna().all()


# -- the command line ------------------------------------------------------------------------------

FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures"


@pytest.mark.parametrize("ext", [".geojson", ".gpkg", ".csv"])
def test_cli_geocode_writes_every_format(ext, tmp_path, capsys, monkeypatch):
    import geopandas as gpd

    from geodata.cli import main

    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / f"sortie{ext}"
    assert main(["geocode", str(FIXTURES / "doublons.csv"), "-o", str(out), "--offline"]) == 0
    printed = capsys.readouterr().out
    assert "Résumé par précision" in printed and "commune (municipality) : 3" in printed
    assert "gazetteer" in printed
    rejets = tmp_path / "sortie_rejets.csv"
    assert rejets.exists() and len(pd.read_csv(rejets, sep=";")) == 2
    if ext == ".csv":
        table = pd.read_csv(out, dtype=str, sep=";")
        assert {"longitude_lieu", "latitude_lieu"} <= set(table.columns)
    else:
        table = gpd.read_file(out)
        assert table.crs.to_epsg() == 4326
    for col in ("nom", "code_insee", "code_departement", "code_qp", "rural", "geocodage_source", "geocodage_precision"):
        assert col in table.columns, col
    assert list(table["code_insee"].astype(str)) == ["31555", "31555", "81004"]  # the commune of the placed point
    assert "contact_email" not in table.columns  # private fields only with --prive


def test_cli_geocode_escapes_formulas_in_csv(tmp_path, monkeypatch):
    from geodata.cli import main

    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "h.csv"
    assert main(["geocode", str(FIXTURES / "hostiles.csv"), "-o", str(out), "--offline"]) == 0
    names = pd.read_csv(out, dtype=str, keep_default_na=False, sep=";")["nom"]
    assert names[2].startswith("'=HYPERLINK(") and names[3] == "'@SUM(1+1)"
    assert names[0] == "<script>alert('x')</script>"  # plain text in a CSV: nothing to run


def test_cli_geocode_bad_extension(tmp_path, capsys):
    from geodata.cli import main

    assert main(["geocode", str(FIXTURES / "doublons.csv"), "-o", str(tmp_path / "x.shp"), "--offline"]) == 2
    assert "Extension de sortie" in capsys.readouterr().err


def test_cli_geocode_online_through_loopback_server(tmp_path, capsys, monkeypatch):
    import geopandas as gpd

    from geodata.cli import main
    from tests.geoplateforme_server import GeoplateformeServer

    known = [{"label": "39 Allées Jules Guesde 31000 Toulouse", "lon": 1.4528, "lat": 43.5928, "type": "housenumber", "citycode": "31555",
              "postcode": "31000", "city": "Toulouse"}]
    with GeoplateformeServer(known) as srv:
        monkeypatch.setenv("CSTI_GEOCODER_URL", srv.url)
        monkeypatch.setenv("CSTI_OFFLINE", "0")
        monkeypatch.setenv("CSTI_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("CSTI_QPV_FILE", str(tmp_path / "absent.geojson"))  # the QPV layer stays unavailable, never downloaded
        out = tmp_path / "sortie.geojson"
        assert main(["geocode", str(FIXTURES / "acteurs_utf8_virgule.csv"), "-o", str(out)]) == 0
        assert any(line.startswith("POST /geocodage/search/csv") for line in srv.log)
    captured = capsys.readouterr()
    assert "Géocodage (service national) : 2/2 adresses" in captured.err
    table = gpd.read_file(out)
    quai = table[table["nom"] == "Quai des Savoirs"].iloc[0]
    assert quai["geocodage_source"] == "geoplateforme" and quai["geocodage_precision"] == "housenumber"
    assert (round(quai.geometry.x, 4), round(quai.geometry.y, 4)) == (1.4528, 43.5928)
    assert "service national d'adresses" in captured.out


def test_store_becomes_the_directory_once_seeded(tmp_path, reference):
    """Staff edits reach the public directory: the store wins once it holds actors."""
    from geodata.directory import directory_source, load_directory, read_sample
    from geodata.settings import get_settings
    from geodata.store import default_store

    settings = get_settings({"CSTI_CACHE_DIR": str(tmp_path / "c"), "CSTI_DATA_DIR": str(tmp_path / "d"), "CSTI_OFFLINE": "1"})
    label, token = directory_source(settings)
    assert label == "annuaire d'exemple embarqué"
    sample = read_sample().head(3)
    store = default_store(settings)
    store.replace_all(sample, user="test")
    label2, token2 = directory_source(settings)
    assert label2 == "annuaire de l'équipe" and token2 != token
    shown = load_directory(settings=settings, reference=reference)
    assert sorted(shown["id"]) == sorted(sample["id"])
    store.update(sample["id"].iloc[0], {"nom": "Nom modifié"}, expected_version=store.get(sample["id"].iloc[0])["version"], user="test")
    assert directory_source(settings)[1] != token2
    again = load_directory(settings=settings, reference=reference)
    assert "Nom modifié" in set(again["nom"])


def test_commune_of_a_point_and_the_place_as_staff_read_it(reference):
    blagnac = corrections.commune_of_point(reference, 1.3900, 43.6360)
    assert (blagnac["code_insee"], blagnac["nom"]) == ("31069", "Blagnac") and blagnac["geometry"].contains(shapely.Point(1.39, 43.636))
    assert corrections.commune_of_point(reference, 2.35, 48.85) is None  # Paris
    assert corrections.place_text(reference, 1.39, 43.636, "31069") == "Blagnac (31069), latitude 43,636000, longitude 1,390000"
    assert corrections.place_text(reference, None, None, "31069") == "Blagnac (31069)"
    assert corrections.place_text(reference, float("nan"), None, "<NA>") == "non localisé"
    assert corrections.change_message("Muséum", "A", "B", user="alice") == "Position de « Muséum » corrigée par alice : A → B."


def test_a_correction_follows_a_row_matched_by_name_and_commune(reference, own_settings, tmp_path):
    from geodata.publishing import apply_plan, plan_import
    from geodata.store import Store

    store = Store(tmp_path / "annuaire.sqlite")
    first = import_actors(b"identifiant;Nom;Ville;Code postal\nm-1;Quai des Savoirs;Toulouse;31000\n", filename="a.csv").actors
    apply_plan(store, plan_import(store, import_actors(b"identifiant;Nom;Ville;Code postal\nm-1;Quai des Savoirs;Toulouse;31000\n",
                                                       filename="a.csv")), user="alice", settings=own_settings)
    again = import_actors(b"Nom;Ville;Code postal\nQuai des Savoirs;Toulouse;31000\n", filename="b.csv")  # no id: matched by name
    import_id = again.actors.at[0, "id"]
    assert import_id != first.at[0, "id"]
    corrections.save_correction(import_id, reference=reference, longitude=1.4526, latitude=43.5995, auteur="alice", settings=own_settings)
    plan = plan_import(store, again)
    assert plan.matches == {import_id: "m-1"} and not plan.changes_anything
    apply_plan(store, plan, user="alice", settings=own_settings)
    kept = corrections.load_corrections(settings=own_settings)
    assert kept["m-1"]["longitude"] == 1.4526 and kept["m-1"]["auteur"] == "alice" and import_id in kept  # the import id keeps it too
