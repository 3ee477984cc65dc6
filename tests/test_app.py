"""Every page runs headlessly through app.py without an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGES = ["pages/carte.py", "pages/statistiques.py", "pages/couverture.py", "pages/import_geocodage.py", "pages/edition.py", "pages/exports.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception


def test_carte_page_shows_the_embed_code_on_request_only():
    """A visit renders no code block (its syntax highlighter would load before the map); the toggle shows the iframe snippet."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert len(at.code) == 0
    at.toggle(key="carte_integration").set_value(True).run()
    assert len(at.code) == 1 and at.code[0].value.startswith("<iframe src=") and 'title="Carte de la culture scientifique' in at.code[0].value
