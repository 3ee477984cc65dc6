"""One rule, one place: a row the importer accepts is a row the store accepts (the schema owns validation)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geodata.actors import FIELD_NAMES, FIELDS, FIELDS_BY_NAME, record_problems
from geodata.errors import DataFileError
from geodata.importing import ROW, import_actors, import_table
from geodata.store import Store

ROOT = Path(__file__).resolve().parents[1]
#: Headers as a survey export writes them: the schema's French labels, and the declared department.
HEADERS = [f.label for f in FIELDS] + ["Département"]

#: Values every field may meet in a survey file, the hostile ones first.
HOSTILE = [
    "", " ", "\0", "\0\0\0", "Mus\0ee", "\x1b[31mrouge\x1b[0m", "\x07\x08", "\u202eevil", "\ufeffBOM", "nan", "None", "inf", "-0",
    "1e400", "NaN", "43,6", "43.6045", "1.4442", "200", "-91", "4", "2.0", "1", "3", "0x10", "١٢٣٤٥", "３１０００",
    "31000", "9400", "31062 CEDEX 9", "310620", "2A004", "2a004", "31555", "ABCDE", "2026-03-15", "2026-13-40", "15/03/2026",
    "2026-03-15 00:00:00", "29/02/2025", "hier", "envoyé", "Envoye", "relancé", "VALIDÉ", "non contacte",
    "contact@exemple.fr", "a@b.fr; c@d.fr", "mailto:x@y.fr", "pas-un-courriel", "a@b", "@.", "x@y.z,",
    "https://exemple.fr", "www.exemple.fr", "http://.", "javascript:alert(1)", "HTTP://EXEMPLE.FR", "ftp://x.fr",
    "musée", "Fab Lab", "planétarium", "laboratoire", "<script>alert(1)</script>", "${alert(1)}", "=HYPERLINK(\"x\")",
    "{{7*7}}", "81; 248100737; 31555", "81,31555 9001", "99999; 81", "2a004", "75", "ligne 1\nligne 2", "a\rb", "x" * 281, "é" * 300, "y" * 1200, "mot " * 80,
]
value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30), st.builds(lambda c, n: c * n, st.sampled_from("xé9 \0"), st.integers(250, 400)))
#: A row gives most of the time a name and a commune, so that many rows reach the store.
row = st.fixed_dictionaries({h: value for h in HEADERS}).flatmap(
    lambda r: st.fixed_dictionaries({"Nom": st.one_of(st.just(r["Nom"]), st.sampled_from(["Muséum", "Grotte\0", "Fab'Lab"])),
                                     "Commune": st.one_of(st.just(r["Commune"]), st.just("Toulouse"))}).map(lambda o: {**r, **o})
)
rows = st.lists(row, min_size=1, max_size=6)


def stores_every_accepted_row(result, rows_in: int) -> None:
    """The importer's verdict holds: rows balance, and the store takes every accepted row (Edition: "Initialiser")."""
    assert len(result.actors) + len(result.rejected) == rows_in
    accepted = pd.DataFrame(result.actors[list(FIELD_NAMES)])
    for record in accepted.to_dict("records"):
        assert record_problems(record) == [], record  # the schema's own verdict, field by field
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "annuaire.sqlite")
        counts = store.replace_all(accepted, user="propriété")
        assert counts["ajoutés"] == len(accepted) == len(store)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_every_row_the_importer_accepts_the_store_accepts(survey):
    table = pd.DataFrame(survey, columns=HEADERS, dtype=object).astype(str)
    table["__ligne"] = range(2, 2 + len(table))
    result = import_table(table, name="enquete.csv")
    assert set(result.mapping.values()) >= set(FIELD_NAMES)  # every field of the schema was read
    stores_every_accepted_row(result, len(table))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_every_row_of_a_survey_file_the_importer_accepts_the_store_accepts(survey):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow(HEADERS)
    writer.writerows([[r[h] for h in HEADERS] for r in survey])
    data = ("sep=;\n" + buffer.getvalue()).encode("utf-8")
    try:
        result = import_actors(data, filename="enquete.csv")
    except DataFileError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:  # a file made mostly of NUL bytes is not text: refused whole, nothing accepted
        assert "octets nuls" in refusal
        return
    # A row of blank cells is no row (as in a spreadsheet); every other row is kept or set aside.
    stores_every_accepted_row(result, sum(any(v.strip() for v in r.values()) for r in survey))


def test_importer_repairs_or_empties_what_the_store_refuses_and_says_so():
    """The values that used to pass the importer and stop "Initialiser l'annuaire" as a whole."""
    table = pd.DataFrame({
        "Nom": ["Muséum", "Grotte", "Fablab", "Labo", "Asso"],
        "Commune": ["Toulouse", "Niaux", "Foix", "Toulouse", "Albi"],
        "Code postal": ["31062 CEDEX 9", "09400", "٠٩٠٠٠", "31000", "81000"],
        "Date de mise à jour": ["15/03/2026", "2026-13-40", "2026-03-15 00:00:00", "", "hier"],
        "Statut de l'enquête": ["Envoye", "relancé", "VALIDÉ", "", "répondu"],
        "Présentation courte": ["x" * 300, "", "", "", ""],
        "Courriel": ["a@b.fr; c@d.fr", "pas-un-courriel", "mailto:x@y.fr", "", ""],
        "Site web": ["http://.", "", "", "", ""],
    })
    result = import_table(table, name="enquete.csv")
    a = result.actors
    assert list(a["code_postal"]) == ["31062", "09400", "", "31000", "81000"]
    assert list(a["date_maj"]) == ["2026-03-15", "", "2026-03-15", "", ""]
    assert list(a["statut_enquete"]) == ["envoyé", "", "validé", "", "répondu"]
    assert len(a.at[0, "presentation_resume"]) == FIELDS_BY_NAME["presentation_resume"].max_length
    assert list(a["contact_email"]) == ["a@b.fr", "", "x@y.fr", "", ""]
    assert a.at[0, "site_web"] == ""
    report = result.report
    said = {(r[ROW], r["champ"]) for _, r in report.iterrows()}
    assert {(2, "code_postal"), (4, "code_postal"), (3, "date_maj"), (6, "date_maj"), (3, "statut_enquete"), (2, "presentation_resume"),
            (2, "contact_email"), (3, "contact_email"), (2, "site_web")} <= said
    status = report[(report["champ"] == "statut_enquete")]
    assert "choisissez parmi : non contacté, envoyé, répondu, validé" in status["correction"].iloc[0]
    stores_every_accepted_row(result, 5)


@pytest.mark.parametrize(("name", "value"), [("code_postal", "31062 CEDEX"), ("date_maj", "15/03/2026"), ("statut_enquete", "relancé"),
                                             ("presentation_resume", "x" * 281), ("contact_email", "a@b"), ("code_insee", "2a004")])
def test_the_store_refuses_with_the_schema_rule(name, value):
    from geodata.store import ActorValidationError, validate_actor

    with pytest.raises(ActorValidationError) as err:
        validate_actor({"id": "t-1", "nom": "Muséum", name: value})
    problem = FIELDS_BY_NAME[name].problem(value)
    assert problem is not None and problem.fix in str(err.value) and FIELDS_BY_NAME[name].label in str(err.value)


# -- the Édition page: "Initialiser l'annuaire" with a hostile survey file ---------------------------


def test_edition_page_initialises_the_store_from_any_survey_file_the_importer_accepts(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    import pages.common

    hostile = pd.DataFrame({h: [HOSTILE[(i * 7 + j) % len(HOSTILE)] for i in range(len(HOSTILE))] for j, h in enumerate(HEADERS)})
    hostile["Nom"] = [f"Acteur {i}" if i % 9 else "\0" for i in range(len(hostile))]
    hostile["Commune"] = ["Toulouse", "Albi", "", "Foix"] * (len(hostile) // 4) + ["Rodez"] * (len(hostile) % 4)
    hostile["Identifiant"] = ["dup", "dup", "dup-2", ""] * (len(hostile) // 4) + [""] * (len(hostile) % 4)
    survey = tmp_path / "enquete.csv"
    survey.write_bytes(hostile.to_csv(index=False, sep=";").encode("utf-8-sig"))
    expected = import_actors(survey)
    assert len(expected.actors) > 40 and len(expected.rejected) > 0  # hostile enough to set rows aside, yet mostly accepted

    monkeypatch.setattr(pages.common, "require_staff", lambda: "alice")
    monkeypatch.setenv("CSTI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CSTI_ACTORS_FILE", str(survey))
    at = AppTest.from_file(str(ROOT / "pages" / "edition.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "Initialiser l'annuaire modifiable avec l'annuaire affiché").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [f"Annuaire initialisé : {len(expected.actors)} fiches."]
    store = Store(tmp_path / "data" / "annuaire.sqlite")
    assert sorted(store.list_actors()["id"]) == sorted(expected.actors["id"])
