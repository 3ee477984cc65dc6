"""The region rule: rows outside Occitanie set aside at import (and kept on request), swaps told apart from elsewhere."""

import io

import pandas as pd
import pytest

from geodata.geocoding import geocode_actors
from geodata.importing import import_actors
from geodata.region import OUTSIDE, department_code, outside_reasons, where_points

MUSEES = "musees_de_france/liste-et-localisation-des-musees-de-france.csv"


def _csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(sep=";", index=False).encode("utf-8")


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ({"nom": "A", "commune": "Toulouse", "code_postal": "31000"}, ""),
        ({"nom": "B", "commune": "Toulouse", "code_postal": "31062"}, ""),  # a CEDEX code of the region
        ({"nom": "C", "commune": "Lyon", "code_postal": "69001"}, "code postal 69001"),
        ({"nom": "D", "commune": "Toulouse", "region": "Auvergne-Rhône-Alpes"}, "région déclarée « Auvergne-Rhône-Alpes »"),
        ({"nom": "E", "commune": "Toulouse", "region": "Midi-Pyrénées"}, ""),  # a former region of Occitanie
        ({"nom": "F", "commune": "Nantes", "departement": "44"}, "département déclaré « 44 »"),
        ({"nom": "G", "commune": "Paris", "code_insee": "75056"}, "code INSEE 75056"),
        ({"nom": "H", "commune": "Izernore", "latitude": "46.219853", "longitude": "5.555588"}, "coordonnées (46.21985, 5.55559)"),
    ],
)
def test_what_a_row_declares_decides(reference, row, why):
    result = import_actors(_csv([row]), filename="t.csv", reference=reference)
    if why:
        assert result.actors.empty and len(result.rejected) == 1 and bool(result.outside.iloc[0])
        assert result.rejected.at[0, "motif"].startswith(OUTSIDE) and why in result.rejected.at[0, "motif"]
    else:
        assert len(result.actors) == 1 and result.rejected.empty


def test_staff_keep_a_listed_row_deliberately(reference):
    data = _csv([{"nom": "Musée de Lyon", "commune": "Lyon", "code_postal": "69001"}, {"nom": "Muséum", "commune": "Toulouse", "code_postal": "31000"}])
    assert len(import_actors(data, filename="t.csv", reference=reference).actors) == 1
    kept = import_actors(data, filename="t.csv", reference=reference, keep_outside=[2])
    assert list(kept.actors["nom"]) == ["Musée de Lyon", "Muséum"] and kept.rejected.empty
    note = kept.report[kept.report["ligne"] == 2]
    assert "gardée à la demande de l'équipe" in note["motif"].iloc[0] and note["gravite"].iloc[0] == "avertissement"


def test_swapped_only_when_the_swap_lands_in_the_region(reference, settings, tmp_path):
    where = where_points(reference, [43.6045, 5.555588, 1.444], [1.444, 46.219853, 43.6045])
    assert list(where["swapped"]) == [True, False, False] and where["code_insee"].iloc[2] == "31555"
    from geodata.geocoding import GeocodeCache

    actors = pd.DataFrame({"id": ["a", "b"], "nom": ["Ain", "Inversé"], "commune": ["", ""], "code_postal": ["", ""], "adresse": ["", ""],
                           "latitude": ["46.219853", "1.444"], "longitude": ["5.555588", "43.6045"]})
    out = geocode_actors(actors, reference=reference, settings=settings, offline=True, cache=GeocodeCache(tmp_path / "g.sqlite"))
    assert "inversées" not in out.at[0, "geocodage_motif"] and "hors de la région" in out.at[0, "geocodage_motif"]
    assert "inversées ?" in out.at[1, "geocodage_motif"]


def test_department_codes():
    assert department_code("09 - Ariège", {}) == "09" and department_code("Ariège", {"ariege": "09"}) == "09"
    assert department_code("Ain", {"ariege": "09"}) == ""


def test_an_unknown_department_name_is_no_reason(reference):
    why = outside_reasons(pd.DataFrame({"departement_declare": ["Hte Garonne", "Ariège", "2A"]}), reference)
    assert list(why == "") == [True, True, False]


def test_musees_de_france_out_of_region_rows_are_set_aside(reference, shared_data):
    path = shared_data / MUSEES
    raw = pd.read_csv(io.BytesIO(path.read_bytes()), sep=";", dtype=str, keep_default_na=False)
    in_region = int((raw["region_administrative"] == "Occitanie").sum())
    result = import_actors(path, reference=reference)
    assert result.rows == len(raw)
    assert len(result.actors) == in_region and int(result.outside.sum()) == len(raw) - in_region
    assert set(result.actors["region_declaree"]) == {"Occitanie"}
