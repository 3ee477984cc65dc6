"""The offline commune gazetteer: name variants, CEDEX, former communes, and real files read in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.gazetteer import Gazetteer, clean_postcode, normalise_name
from geodata.geocoding import geocode_actors
from geodata.territory import CRS_METRIC, communes_at

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
