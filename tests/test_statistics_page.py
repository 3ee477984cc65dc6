"""The page « Statistiques » through app.py: population year, rates of small communes flagged and ranked last."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_commune_rates_put_comparable_communes_first():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("pages/statistiques.py")
    at.run()
    assert not at.exception, at.exception
    at.radio[0].set_value("Communes").run()
    at.radio[1].set_value("acteurs_10000_hab").run()
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "population municipale : population 2017" in captions
    assert "moins de 2\u202f000 habitants ne sont pas colorés" in captions
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["Code INSEE", "Commune", "Dép.", "Intercommunalité (EPCI)"] and table["Intercommunalité (EPCI)"].notna().all()
    assert table["Taux comparable"].is_monotonic_decreasing  # comparable communes first
    top = table[table["Taux comparable"]]
    assert (top["Population 2017"] >= 2_000).all() and top["Pour 10 000 hab."].is_monotonic_decreasing
