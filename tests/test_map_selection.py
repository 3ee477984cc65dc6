"""Filters of the public map and their permalink."""

from __future__ import annotations

import pytest

from geodata.directory import load_directory
from geodata.selection import Selection, normalize, parse_view, select_actors, theme_options
from geodata.settings import get_settings


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


def test_query_roundtrip():
    sel = Selection(query="cité", circles=("1", "sans"), types=("Fab Lab",), departements=("31", "34"), themes=("astronomie",))
    assert Selection.from_query(sel.to_query()) == sel
    assert Selection.from_query({}) == Selection() and Selection().is_empty()


def test_search_ignores_case_and_accents(sample):
    hits = select_actors(sample, Selection(query="CITE DE L'ESPACE"))
    assert len(hits) >= 1 and all("cite de l'espace" in normalize(n) for n in hits["nom"])
    assert normalize("Écomusée") == "ecomusee"


def test_search_by_commune(sample):
    hits = select_actors(sample, Selection(query="toulouse"))
    assert (hits["commune_lieu"] == "Toulouse").sum() == (sample["commune_lieu"] == "Toulouse").sum() > 0
    assert all("toulouse" in normalize(n) or c == "Toulouse" for n, c in zip(hits["nom"], hits["commune_lieu"]))


@pytest.mark.parametrize(
    ("selection", "column", "allowed"),
    [
        (Selection(circles=("1",)), "cercle", {"1"}),
        (Selection(types=("Fab Lab",)), "type_structure", {"Fab Lab"}),
        (Selection(departements=("48",)), "code_departement", {"48"}),
    ],
)
def test_each_filter_restricts(sample, selection, column, allowed):
    hits = select_actors(sample, selection)
    assert 0 < len(hits) < len(sample)
    assert set(hits[column].astype(str)) <= allowed


def test_filter_sample_per_intercommunality_as_per_department(sample):
    epci = sample["code_epci"].dropna().astype(str).value_counts().index[0]
    some = select_actors(sample, Selection(epci=(epci,)))
    assert 0 < len(some) < len(sample) and set(some["code_epci"]) == {epci}
    assert not Selection(epci=(epci,)).is_empty()
    # Both filters together: the sample of that EPCI in that department.
    dep = some["code_departement"].iloc[0]
    both = select_actors(sample, Selection(departements=(dep,), epci=(epci,)))
    assert len(both) == int(((sample["code_epci"] == epci) & (sample["code_departement"] == dep)).sum())


def test_without_circle_selects_fablabs_and_tourism(sample):
    hits = select_actors(sample, Selection(circles=("sans",)))
    assert len(hits) > 0 and set(hits["famille"]) <= {"fablab", "tourisme", "autre"}


def test_theme_filter(sample):
    themes = theme_options(sample)
    assert "astronomie" in themes
    hits = select_actors(sample, Selection(themes=("astronomie",)))
    assert len(hits) > 0 and all("astronomie" in t for t in hits["thematiques"])


def test_filters_combine(sample):
    both = select_actors(sample, Selection(departements=("31",), types=("musée/centre de sciences",)))
    assert set(both["code_departement"]) == {"31"} and set(both["type_structure"]) == {"musée/centre de sciences"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"lat": ["43.6"], "lon": ["3.9"], "z": ["9.5"]}, ((43.6, 3.9), 9.5)),
        ({"lat": ["x"], "lon": ["3.9"], "z": ["9"]}, (None, None)),
        ({"lat": ["143.6"], "lon": ["3.9"], "z": ["9"]}, (None, None)),
        ({"lat": ["43.6"], "lon": ["3.9"], "z": ["nan"]}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_parse_view(params, expected):
    assert parse_view(params) == expected
