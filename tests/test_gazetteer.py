"""The offline commune gazetteer: name variants, CEDEX, former communes, and real files read in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.gazetteer import Gazetteer, address_parts, clean_postcode, normalise_name
from geodata.geocoding import geocode_actors
from geodata.reference import CRS_METRIC, communes_at

MUSEES = "musees_de_france/liste-et-localisation-des-musees-de-france.csv"
RNSR = "rnsr_structures_recherche_occitanie/fr-esr-structures-recherche-publiques-actives_occitanie.csv"


@pytest.fixture(scope="module")
def gaz(reference):
    return Gazetteer(reference)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le Mas-d'Azil", "mas d azil"),
        ("LE MAS D AZIL", "mas d azil"),
        ("St-Girons", "saint girons"),
        ("Ste Croix Volvestre", "sainte croix volvestre"),
        ("TOULOUSE CEDEX 9", "toulouse"),
        ("Montpellier Cedex 05", "montpellier"),
        ("Nîmes", "nimes"),
        ("L'Isle-Jourdain", "isle jourdain"),
        ("", ""),
    ],
)
def test_normalise_name(text, expected):
    assert normalise_name(text) == expected


@pytest.mark.parametrize(("value", "expected"), [("9400", "09400"), ("31000", "31000"), ("31062 TOULOUSE CEDEX 9", "31062"), ("31000.0", "31000"), ("abc", ""), ("", "")])
def test_clean_postcode(value, expected):
    assert clean_postcode(value) == expected


@pytest.mark.parametrize(
    ("commune", "code_postal", "code_insee", "expected", "method"),
    [
        ("Le Mas-d'Azil", "09290", "", "09181", "nom_code_postal"),
        ("Le Garric", "81450", "", "81101", "nom_code_postal"),
        ("TOULOUSE CEDEX 9", "31062", "", "31555", "nom_departement"),
        ("MONTPELLIER CEDEX 5", "34197", "", "34172", "nom_departement"),
        ("ST GIRONS", "09200", "", "09261", "nom_code_postal"),
        ("banyuls sur mer", "66650", "", "66016", "nom_code_postal"),
        ("Cordes", "81170", "", "81069", "nom_partiel"),
        ("Marseillan-Plage", "34340", "", "34150", "nom_partiel"),
        ("ST CHRISTOL LES ALES", "30380", "", "30243", "nom_approche"),
        ("Sauliac-sur-Célé (Cuzals)", "46330", "", "46299", "nom_code_postal"),
        ("", "", "31555", "31555", "code_insee"),
        ("Nimporte", "", "9181", "09181", "code_insee"),
        ("Labastide-Dénat", "81120", "", "81218", "ancien_nom"),
        ("", "", "81113", "81218", "ancien_code_insee"),
    ],
)
def test_resolve_one(gaz, commune, code_postal, code_insee, expected, method):
    m = gaz.resolve_one(commune, code_postal, code_insee, "")
    assert (m.code_insee, m.methode) == (expected, method)


def test_same_name_in_two_departments_needs_a_postcode(gaz):
    ambiguous = gaz.resolve_one("Aigues-Vives", "", "", "")
    assert ambiguous.code_insee is None and "ambiguë" in ambiguous.motif
    assert gaz.resolve_one("Aigues-Vives", "30670", "", "").code_insee == "30004"
    assert gaz.resolve_one("Aigues-Vives", "", "", "34").code_insee == "34007"
    assert gaz.resolve_one("Ferrières", "", "", "").code_insee == "65176"  # unique in the region
    # A name known only in another department than the postcode's is not taken.
    assert gaz.resolve_one("Ferrières", "81260", "", "").code_insee != "65176"


def test_unknown_places_are_explained(gaz):
    m = gaz.resolve_one("PRAGUE", "11121", "", "")
    assert m.code_insee is None and "introuvable" in m.motif
    assert "ajoutez au moins la commune" in gaz.resolve_one("", "", "", "").motif


def test_batch_is_aligned_and_places_at_representative_point(gaz, reference):
    out = gaz.resolve(["Toulouse", "Inconnue", "Albi"], ["31000", "", "81000"])
    assert list(out["code_insee"][[0, 2]]) == ["31555", "81004"]
    assert pd.isna(out["code_insee"][1]) and np.isnan(out["lon"][1])
    toulouse = reference.communes.set_index("code_insee").loc["31555"]
    assert (out.at[0, "lon"], out.at[0, "lat"]) == (toulouse["point_lon"], toulouse["point_lat"])


def test_sample_directory_all_resolved(gaz):
    from geodata.directory import SAMPLE_FILE

    sample = pd.read_csv(SAMPLE_FILE, dtype=str, keep_default_na=False)
    out = gaz.resolve(sample["commune"], sample["code_postal"], sample["code_insee"])
    assert out["code_insee"].notna().all(), sample.loc[out["code_insee"].isna(), "commune"].tolist()
    # Where the sample gives an INSEE code, the commune name agrees with it.
    by_name = gaz.resolve(sample["commune"], sample["code_postal"])
    given = sample["code_insee"] != ""
    assert (by_name.loc[given, "code_insee"].to_numpy() == sample.loc[given, "code_insee"].to_numpy()).all()


def test_museums_offline_in_the_right_commune(shared_data, reference, settings, tmp_path):
    from geodata.geocoding import GeocodeCache

    m = pd.read_csv(shared_data / MUSEES, sep=";", dtype=str, keep_default_na=False)
    m = m[m["region_administrative"] == "Occitanie"].reset_index(drop=True)
    assert len(m) == 132
    truth = communes_at(reference.communes, m["longitude"].astype(float), m["latitude"].astype(float))
    actors = pd.DataFrame({"adresse": m["adresse"], "code_postal": m["code_postal"], "commune": m["commune"]})
    out = geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=GeocodeCache(tmp_path / "c.sqlite"))
    placed = communes_at(reference.communes, out["longitude_lieu"], out["latitude_lieu"])
    share = (placed.to_numpy() == truth.to_numpy()).mean()
    assert share >= 0.97, share
    import geopandas as gpd

    a = gpd.GeoSeries(gpd.points_from_xy(out["longitude_lieu"], out["latitude_lieu"]), crs="EPSG:4326").to_crs(CRS_METRIC)
    b = gpd.GeoSeries(gpd.points_from_xy(m["longitude"].astype(float), m["latitude"].astype(float)), crs="EPSG:4326").to_crs(CRS_METRIC)
    median_km = float(np.median(a.distance(b))) / 1000
    # Commune-level placement: the median museum lies within a few km of its town hall.
    assert median_km < 5, median_km


# Names of the file that are not commune names, checked by hand: locality or short form -> commune.
RNSR_BY_HAND = {"auzeville": "31035", "font romeu": "66124", "saint christol les ales": "30243", "marseillan plage": "34150", "m": "34172"}
# Research structures abroad with a postcode-like number: they must not be placed in Occitanie.
RNSR_ABROAD = {"beyoglu", "caire", "prague"}


def test_research_structures_resolved_to_their_commune(shared_data, gaz):
    r = pd.read_csv(shared_data / RNSR, sep=";", dtype=str, keep_default_na=False)
    assert len(r) == 344
    assert r["commune"].str.contains("cedex", case=False).sum() > 150
    found = gaz.resolve(r["commune"], r["code_postal"])["code_insee"]
    names = r["commune"].map(normalise_name)
    abroad = names.isin(RNSR_ABROAD)
    assert found[abroad].isna().all()
    expected = names.map(lambda n: RNSR_BY_HAND.get(n) or (gaz.by_name.get(n) or [None])[0])
    in_region = ~abroad
    share = (found[in_region].to_numpy() == expected[in_region].to_numpy()).mean()
    assert share >= 0.97, share


# -- real addresses (issue 12): one case per class of address that used to fail offline ------------------

# (adresse, code_postal, commune) -> expected INSEE code; written for real communes, postcodes from the reference.
ADDRESSES = {
    "postcode first": [
        ("09000 Foix - Ariège", "", "", "09122"),
        ("30000 Nîmes - Gard", "", "", "30189"),
        ("31240 L'Union, 12 avenue des Pyrénées", "", "", "31561"),
        ("48000 Mende", "", "", "48095"),
    ],
    "postcode in the address, homonyms in the commune column": [
        ("Le bourg, 34700 Celles", "", "Celles", "34072"),
        ("Mairie 09000 Celles", "", "Celles", "09093"),
        ("Place du Général Claparède, 34150 Gignac", "", "Gignac", "34114"),
        ("Le bourg 46600 Gignac", "", "Gignac", "46118"),
        ("Place de la mairie, 09700 Montaut", "", "Montaut", "09199"),
        ("Route de Lézat, 31410 Montaut", "", "Montaut", "31361"),
        ("Le village, 32300 Montaut", "", "Montaut", "32278"),
        ("Avenue de Fronton, 31140 Aucamville", "", "Aucamville", "31022"),
        ("82600 Aucamville", "", "Aucamville", "82005"),
        ("Place Georges Clemenceau, 30300 Beaucaire", "", "Beaucaire", "30032"),
        ("Le bourg, 32410 Beaucaire", "", "Beaucaire", "32035"),
        ("Grand rue, 30250 Fontanès", "", "Fontanès", "30114"),
        ("34270 Fontanès", "", "Fontanes", "34102"),
        ("Le bourg, 46230 Fontanes", "", "Fontanes", "46109"),
        ("Le village, 09120 Vira", "", "Vira", "09340"),
        ("Carrer major, 66220 Vira", "", "Vira", "66232"),
    ],
    "postcode written with a space": [
        ("", "48 220", "Vialas", "48194"),
        ("Mairie, 48 220 Vialas", "", "", "48194"),
        ("Le village, 66 220 Vira", "", "Vira", "66232"),
        ("", "31 240", "L'Union", "31561"),
    ],
    "Occitan and Catalan articles": [
        ("", "66500", "Los Masos", "66104"),
        ("", "66500", "Els Masos", "66104"),
        ("", "66500", "Masos", "66104"),
        ("", "30120", "Lo Vigan", "30350"),
        ("", "09310", "Las Cabannes", "09070"),
        ("", "", "Los Masos", "66104"),
        ("", "", "Grau-du-Roi (Le)", "30133"),
        ("", "31240", "Union", "31561"),
    ],
    "shortened name made unique by the postcode": [
        ("", "32420", "Villefranche", "32465"),
        ("32420 Villefranche", "", "", "32465"),
        ("Le bourg, 32420 Villefranche", "", "Villefranche", "32465"),
        ("", "81170", "Cordes", "81069"),
    ],
}
CASES = [pytest.param(*case, id=f"{cls}: {case[0] or case[2]} {case[1]}".strip()) for cls, cases in ADDRESSES.items() for case in cases]


@pytest.fixture(scope="module")
def offline_geocode(reference, settings, tmp_path_factory):
    from geodata.geocoding import GeocodeCache

    cache = GeocodeCache(tmp_path_factory.mktemp("geocode") / "c.sqlite")

    def run(rows):
        actors = pd.DataFrame(rows, columns=["adresse", "code_postal", "commune"])
        return geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=cache)

    return run


@pytest.mark.parametrize(("adresse", "code_postal", "commune", "expected"), CASES)
def test_real_addresses_placed_offline_in_their_commune(offline_geocode, adresse, code_postal, commune, expected):
    out = offline_geocode([(adresse, code_postal, commune)]).iloc[0]
    assert out["geocodage_code_insee"] == expected, out["geocodage_motif"]
    assert out["geocodage_source"] == "gazetteer"
    assert out["geocodage_statut"] == "ok", out["geocodage_motif"]


@pytest.mark.parametrize(
    ("adresse", "code_postal", "commune", "candidates"),
    [
        ("", "34540", "Balaruc", {"34023", "34024"}),  # Balaruc-les-Bains, Balaruc-le-Vieux
        ("Le village, 34380 Viols", "", "", {"34342", "34343"}),  # Viols-en-Laval, Viols-le-Fort
        ("", "11190", "Rennes", {"11309", "11310"}),  # Rennes-le-Château, Rennes-les-Bains
    ],
)
def test_name_ambiguous_even_with_the_postcode_goes_to_review(offline_geocode, reference, adresse, code_postal, commune, candidates):
    names = reference.communes.set_index("code_insee")["nom"]
    out = offline_geocode([(adresse, code_postal, commune)]).iloc[0]
    assert out["geocodage_statut"] == "à vérifier"
    assert out["geocodage_code_insee"] in candidates
    assert "ambiguë même avec le code postal" in out["geocodage_motif"]
    assert all(names[c] in out["geocodage_motif"] for c in candidates), out["geocodage_motif"]


def test_row_placed_from_the_postcode_alone_says_so(offline_geocode):
    out = offline_geocode([("", "31000", ""), ("", "48 220", ""), ("Mairie, 48 220", "", "")])
    assert out.at[0, "geocodage_code_insee"] == "31555" and out.at[0, "geocodage_statut"] == "ok"
    assert "d'après le code postal 31000 seul" in out.at[0, "geocodage_motif"]
    # A postcode shared by two communes: placed at the larger, to be checked, and the reason says no commune was given.
    assert out.at[1, "geocodage_code_insee"] in {"48116", "48194"} and out.at[1, "geocodage_statut"] == "à vérifier"
    assert "aucune commune indiquée" in out.at[1, "geocodage_motif"] and "48220" in out.at[1, "geocodage_motif"]
    # "48 220" with no commune after it in an address is not read as a postcode (could be any two numbers).
    assert out.at[2, "geocodage_statut"] == "non localisé"


def test_homonyms_without_postcode_stay_ambiguous_and_article_settles_them(gaz):
    assert gaz.resolve_one("Celles").code_insee is None and "ambiguë" in gaz.resolve_one("Celles").motif
    # "Le Vernet" (09331) and "Vernet" (31574): the written article settles it, its absence does not guess.
    assert gaz.resolve_one("Le Vernet").code_insee == "09331"
    assert gaz.resolve_one("Vernet").code_insee is None
    assert gaz.resolve_one("Vernet", "31810").code_insee == "31574"
    # A shortened name ambiguous in the department (no postcode): not placed, the candidates are named.
    m = gaz.resolve_one("Villefranche", "", "", "12")
    assert m.code_insee is None and "Villefranche-de-Rouergue" in m.motif and "Villefranche-de-Panat" in m.motif


@pytest.mark.parametrize(
    ("adresse", "expected"),
    [
        ("09000 Foix - Ariège", ("09000", "Foix - Ariège")),
        ("2 rue du Lieutenant-Colonel Maillard, 81000 Albi, France", ("81000", "Albi")),
        ("Mairie, BP 50123, 48 220 Vialas", ("48220", "Vialas")),
        ("CS 40001 31062 Toulouse Cedex 9", ("31062", "Toulouse Cedex 9")),
        ("Place de la Mairie, Foix 09000", ("09000", "Foix")),
        ("12 rue de la Paix 09000", ("09000", "")),
        ("BP 31000", ("", "")),
        ("SIRET 123 456 789 00012", ("", "")),
        ("118, route de Narbonne", ("", "")),
        ("", ("", "")),
    ],
)
def test_address_parts(adresse, expected):
    assert address_parts(adresse) == expected


def test_postcode_with_a_space_is_read():
    assert clean_postcode("48 220") == "48220"
    assert clean_postcode("31 000 Toulouse") == "31000"


def test_every_official_name_with_its_first_postcode_resolves_to_itself(gaz, reference):
    first = reference.codes_postaux.groupby("code_insee")["code_postal"].min()
    communes = reference.communes
    assert len(communes) == 4446
    out = gaz.resolve(communes["nom"], communes["code_insee"].map(first))
    wrong = communes.loc[out["code_insee"].to_numpy() != communes["code_insee"].to_numpy(), ["code_insee", "nom"]]
    assert wrong.empty, wrong.to_dict("records")
