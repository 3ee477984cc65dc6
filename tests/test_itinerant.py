"""Itinerant offers: the intervention zone of the schema, checked at import and in the store, kept by the exports, and
counted by the coverage analysis (hand-built geometries with known answers)."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

from geodata import coverage as cv
from geodata import coverage_text, export, zones
from geodata.actors import FIELDS_BY_NAME, PUBLIC_FIELDS
from geodata.importing import import_actors
from geodata.store import ActorValidationError, Store
from tests.test_coverage import _actors_at, make_demand
from tests.test_staff_pages import PASSWORD, accounts, login, open_page, staff_env  # noqa: F401 (fixtures)

# Two departments, one EPCI each ("200000009" and "200000011"); everything but 00001 lies beyond a 5 km reach of (0, 0).
PLACES = [
    ("00001", 0, 0, 100, True, "09"),
    ("00002", 40_000, 0, 200, True, "09"),
    ("00003", 0, 20_000, 5_000, False, "11"),
    ("00004", 30_000, 30_000, 300, True, "11"),
]
QPV = [("QP011001", 30_000, 30_000, 200, 1_000, "11"), ("QP009001", 40_000, 0, 200, 700, "09")]
PARAMS = cv.Params(rural_reach_km=5, qpv_reach_km=1)


def _analyse(zone: str, params: cv.Params = PARAMS, **columns):
    demand = make_demand(PLACES, qpv=QPV)
    actors = _actors_at([(0, 0)], zone_intervention=[zone], **columns)
    return cv.analyse(demand, actors, params, k=3)


def _verdicts(table: pd.DataFrame, key: str) -> dict:
    return dict(zip(table[key], table["portee"]))


def test_a_zone_by_commune_reaches_that_commune_whatever_the_distance():
    analysis = _analyse("00004")
    c = analysis.coverage.communes.set_index("code_insee")
    assert c.loc["00004", "distance_km"] == pytest.approx(42.43, abs=0.01)  # the distance stays what it is
    assert c.loc["00004", "a_portee"] and c.loc["00004", "portee"] == cv.REACHED
    assert c.loc["00004", "offres_itinerantes"] == "A0" and c.loc["00004", "itinerance_seule"]
    assert not c.loc["00001", "itinerance_seule"]  # reached by distance already
    assert not c.loc["00002", "a_portee"]
    s = analysis.coverage.summary()
    assert s["population_rurale_hors_portee"] == 200 and s["communes_rurales_hors_portee"] == 1
    # The QPV inside 00004 is reached through the zone; the other one is not.
    assert _verdicts(analysis.coverage.qpv, "code_qp") == {"QP011001": cv.REACHED, "QP009001": cv.OUT}
    assert cv.itinerant_summary(analysis.coverage) == {
        "acteurs": 1, "communes_rurales": 1, "population_rurale": 300, "qpv": 1, "population_qpv": 1_000,
    }  # fmt: skip
    # Where next no longer proposes to reach what the zone reaches.
    assert "QP011001" not in ",".join(analysis.steps["qpv_couverts"]) and analysis.steps["gain_population_rurale"].sum() == 200


def test_a_zone_by_epci_reaches_all_its_communes_and_their_qpv():
    analysis = _analyse("200000011")
    c = analysis.coverage.communes.set_index("code_insee")
    assert c.loc[["00003", "00004"], "a_portee"].all() and not c.loc["00002", "a_portee"]
    # 00003 is urban: it is reached too, but only the rural one counts in the rural figures.
    assert cv.itinerant_summary(analysis.coverage)["communes_rurales"] == 1
    assert _verdicts(analysis.coverage.qpv, "code_qp")["QP011001"] == cv.REACHED


def test_a_zone_by_department_reaches_its_communes_and_a_list_mixes_kinds():
    by_department = _analyse("09")
    c = by_department.coverage.communes.set_index("code_insee")
    assert c["a_portee"].to_dict() == {"00001": True, "00002": True, "00003": False, "00004": False}
    assert _verdicts(by_department.coverage.qpv, "code_qp") == {"QP011001": cv.OUT, "QP009001": cv.REACHED}
    only = cv.itinerant_summary(by_department.coverage)
    assert (only["communes_rurales"], only["population_rurale"], only["qpv"], only["population_qpv"]) == (1, 200, 1, 700)
    mixed = _analyse("09; 00004")
    assert mixed.coverage.summary()["population_rurale_hors_portee"] == 0
    assert mixed.coverage.summary()["qpv_hors_portee"] == 0


def test_a_zone_makes_an_uncertain_commune_level_actor_s_places_reached():
    demand = make_demand(PLACES, qpv=QPV)
    actors = _actors_at([(0, 0)], geocodage_precision=["municipality"], code_insee_lieu=["00001"], zone_intervention=["00004"])
    result = cv.analyse(demand, actors, PARAMS).coverage
    assert result.n_commune_level == 1
    assert _verdicts(result.communes, "code_insee")["00004"] == cv.REACHED
    s = result.summary()
    assert s["population_rurale_hors_portee_min"] <= s["population_rurale_hors_portee"] <= s["population_rurale_hors_portee_max"]


def test_the_toggle_off_gives_the_figures_without_zones():
    demand = make_demand(PLACES, qpv=QPV)
    plain = cv.analyse(demand, _actors_at([(0, 0)]), PARAMS, k=3)
    off = _analyse("09; 00004", cv.with_params(PARAMS, itinerant=False))
    assert off.coverage.n_itinerant == 1 and cv.itinerant_summary(off.coverage) is None
    pd.testing.assert_frame_equal(off.coverage.communes, plain.coverage.communes)
    pd.testing.assert_frame_equal(off.coverage.qpv, plain.coverage.qpv)
    pd.testing.assert_frame_equal(off.steps, plain.steps)
    assert set(off.layers) == set(plain.layers)
    on = _analyse("09; 00004")
    assert on.coverage.summary()["population_rurale_hors_portee"] < plain.coverage.summary()["population_rurale_hors_portee"]


def test_only_counted_actors_bring_their_zone():
    analysis = _analyse("00004", cv.with_params(PARAMS, types=("musée/centre de sciences",)), type_structure=["association"])
    assert len(analysis.counted) == 0 and analysis.coverage.n_itinerant == 0
    assert not analysis.coverage.communes.set_index("code_insee").loc["00004", "a_portee"]


def test_method_notes_say_how_many_declare_a_zone_and_what_only_they_reach():
    analysis = _analyse("00004")
    notes = coverage_text.method_notes(analysis.demand, PARAMS, analysis.coverage)
    note = next(n for n in notes if n.startswith("Offres itinérantes"))
    assert "1 acteur compté déclare une zone d'intervention" in note
    assert "Seules ces zones mettent à portée 1 commune rurale (300 habitants) et 1 QPV (1\u202f000 habitants)" in note
    off = _analyse("00004", cv.with_params(PARAMS, itinerant=False))
    assert "non comptée ici" in coverage_text.itinerant_note(off.coverage)
    none = cv.analyse(make_demand(PLACES), _actors_at([(0, 0)]), PARAMS)
    assert coverage_text.itinerant_note(none.coverage) == ""
    assert not any(n.startswith("Offres itinérantes") for n in coverage_text.method_notes(none.demand, PARAMS, none.coverage))


def test_communes_in_zones_expands_each_kind_of_code():
    communes = pd.DataFrame(
        {
            "code_insee": ["81004", "81005", "31555"],
            "code_departement": ["81", "81", "31"],
            "code_epci": ["248100737", "248100999", "243100518"],
        }
    )
    zone, rows = zones.communes_in_zones(["81", "243100518; 81004", "", "75056"], communes)
    assert list(zip(zone.tolist(), rows.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 2)]


# -- the schema, the importer, the store and the exports agree (real reference geography) -----------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("99999", "code '99999' inconnu : aucune commune d'Occitanie"),
        ("75", "code '75' inconnu : aucun département d'Occitanie"),
        ("200000000", "code '200000000' inconnu : aucun EPCI d'Occitanie"),
        ("81; abc", "code 'abc' mal formé"),
        ("81, 31555", "mal séparés"),
    ],
)
def test_the_schema_refuses_a_bad_code_naming_it(reference, text, fragment):
    problem = FIELDS_BY_NAME["zone_intervention"].problem(text)
    assert problem is not None and fragment in problem.reason
    assert "séparés par « ; »" in problem.fix


def test_the_schema_accepts_codes_of_occitanie_and_the_field_is_public(reference):
    assert FIELDS_BY_NAME["zone_intervention"].problem("81; 248100737; 31555") is None
    assert "zone_intervention" in PUBLIC_FIELDS


def _import(tmp_path, rows: list[tuple[str, str, str]]):
    path = tmp_path / "itinerants.csv"
    pd.DataFrame(rows, columns=["Nom", "Commune", "Zone d'intervention"]).to_csv(path, sep=";", index=False)
    return import_actors(path)


def test_import_tidies_zones_and_drops_bad_codes_naming_the_row(reference, tmp_path):
    result = _import(tmp_path, [
        ("Camion des sciences", "Albi", "81, 248100737 31555 ; 81"),
        ("Exposition itinérante", "Rodez", "9001; 99999; 12"),
        ("Musée", "Foix", ""),
    ])  # fmt: skip
    assert result.mapping["Zone d'intervention"] == "zone_intervention"
    assert result.actors["zone_intervention"].tolist() == ["81; 248100737; 31555", "09001; 12", ""]
    remarks = result.report[result.report["champ"] == "zone_intervention"]
    assert remarks[["ligne", "valeur"]].values.tolist() == [[3, "9001; 99999; 12"]]
    remark = remarks.iloc[0]
    assert "code '99999' inconnu" in remark["motif"] and "les autres sont gardés" in remark["motif"]
    assert "codes INSEE de commune" in remark["correction"] and "séparés par « ; »" in remark["correction"]
    assert len(result.rejected) == 0  # a bad code never sets the actor aside


def test_the_store_refuses_what_the_schema_refuses_and_keeps_what_the_import_accepts(reference, tmp_path):
    store = Store(tmp_path / "annuaire.sqlite")
    with pytest.raises(ActorValidationError, match=r"Zone d'intervention.*'99999' inconnu.*séparés par « ; »"):
        store.add({"nom": "Camion", "commune": "Albi", "zone_intervention": "81; 99999"}, user="test")
    saved = store.add({"nom": "Camion", "commune": "Albi", "zone_intervention": "81; 248100737"}, user="test")
    assert store.get(saved["id"])["zone_intervention"] == "81; 248100737"


def test_round_trip_import_store_export_keeps_the_zone(reference, tmp_path):
    from geodata import rural
    from geodata.directory import place_and_enrich
    from geodata.territory import Territory

    result = _import(tmp_path, [("Camion des sciences", "Albi", "81; 248100737; 31555"), ("Musée", "Foix", "")])
    store = Store(tmp_path / "annuaire.sqlite")
    store.replace_all(result.actors, user="test")
    stored = store.list_actors().sort_values("nom").reset_index(drop=True)
    assert stored["zone_intervention"].tolist() == ["81; 248100737; 31555", ""]
    territory = Territory(reference, rural.rural_table(reference.communes), None, {})
    placed = place_and_enrich(stored.drop(columns="version"), territory)
    layers = export.build_layers(["acteurs"], actors=placed, reference=reference)
    doc = json.loads(export.export_layers(layers, "geojson", private=False).data)
    by_name = {f["properties"]["nom"]: f["properties"]["zone_intervention"] for f in doc["features"]}
    assert by_name == {"Camion des sciences": "81; 248100737; 31555", "Musée": ""}
    with zipfile.ZipFile(io.BytesIO(export.export_layers(layers, "csv", private=False).data)) as zf:
        table = pd.read_csv(zf.open("acteurs.csv"), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert sorted(table["zone_intervention"]) == ["", "81; 248100737; 31555"]
    # And the file read back by the importer gives the same zone (what staff re-import is what they exported).
    again = import_actors(table.to_csv(sep=";", index=False).encode(), filename="retour.csv")
    assert sorted(again.actors["zone_intervention"]) == ["", "81; 248100737; 31555"]


def test_the_edition_page_edits_the_zone_with_the_schema_s_message(staff_env):  # noqa: F811 (the fixture imported above)
    at = login(open_page("pages/edition.py"), "alice", PASSWORD)
    first_id = staff_env.list_actors().loc[0, "id"]

    def save(zone: str):
        next(t for t in at.text_input if t.label == "Zone d'intervention").input(zone)
        next(b for b in at.button if b.label == "Enregistrer").click()
        at.run()
        assert not at.exception, at.exception

    save("81; 99999")
    assert any("Zone d'intervention" in e.value and "'99999' inconnu" in e.value and "séparés par « ; »" in e.value for e in at.error)
    assert staff_env.get(first_id)["zone_intervention"] == ""
    save("81; 248100737")
    assert staff_env.get(first_id)["zone_intervention"] == "81; 248100737"
    assert any("Fiche enregistrée" in s.value for s in at.success)


def test_the_cli_counts_zones_unless_told_not_to(reference, tmp_path, monkeypatch, capsys):
    from geodata.cli import main

    _import(tmp_path, [("Tiers-lieu mobile", "Mende", "48"), ("Musée", "Foix", "")])  # writes itinerants.csv
    monkeypatch.setenv("CSTI_ACTORS_FILE", str(tmp_path / "itinerants.csv"))
    out = tmp_path / "rural.csv"
    assert main(["coverage", "-o", str(out), "--couche", "communes_rurales_hors_portee"]) == 0
    printed = capsys.readouterr().out
    assert "Méthode : Offres itinérantes : 1 acteur compté déclare une zone d'intervention" in printed
    with_zone = out.read_text(encoding="utf-8-sig").splitlines()
    assert main(["coverage", "-o", str(out), "--couche", "communes_rurales_hors_portee", "--sans-itinerance"]) == 0
    assert "non comptée ici" in capsys.readouterr().out
    without = out.read_text(encoding="utf-8-sig").splitlines()
    lozere = [sum(line.split(";")[2] == "48" for line in lines[1:]) for lines in (with_zone, without)]
    assert lozere[0] == 0 < lozere[1]  # with the zone, no rural commune of Lozère is left out


def test_the_coverage_map_says_which_itinerant_offer_reaches_a_qpv():
    from cartography.coverage_map import coverage_map

    analysis = _analyse("00004")
    html = (
        coverage_map(analysis.demand, analysis.coverage, analysis.sites, steps=analysis.steps, prefix="/app/static/vendor")
        .get_root()
        .render()
    )
    # folium writes the GeoJSON with ASCII escapes.
    assert json.dumps("à portée (offre itinérante : A0)")[1:-1] in html
