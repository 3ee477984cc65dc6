"""One rule, two languages: the map client's JavaScript rules agree with the Python ones on tables of inputs."""

from __future__ import annotations

import pytest

from cartography.assets import CLIENT_DIR
from cartography.escape import safe_url
from geodata.spreadsheet import neutralise_value

pytestmark = [pytest.mark.browser]

URLS = [
    "https://exemple.fr", "http://exemple.fr/a?b=c#d", "  https://exemple.fr/  ", "HTTPS://EXEMPLE.FR", "hTTp://x.y",
    "javascript:alert(1)", "JaVaScRiPt:window.__pwned=1", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:x", "ftp://exemple.fr",
    "mailto:a@b.fr", "https://", "https:///chemin", "http:\\\\evil.example", "//exemple.fr", "exemple.fr", "https//exemple.fr",
    "https://exe mple.fr", "https://exemple.fr/\u00a0x", "https://exemple.fr/\tx", "https://exemple.fr\n", "\u2028https://exemple.fr",
    "https://exemple.fr/\x85", "https://[::1]/", "https://[::1/", "https://::1]/", "https://[evil]/", "https://exemple.fr/\ufeff",
    "https://exemple.fr/?a=\"><script>alert(1)</script>", "", "   ", "https://user:pass@exemple.fr:8080/", "http://127.0.0.1:8501/app",
    "https://exemple.fr/é", "1https://exemple.fr", "https://exemple.fr\x00", "https://exemple.fr/\x7f",
]

CELLS = ["=1+1", "+33 6 00", "-1.5", "+33", "-2,5", "@SUM(A1)", "\tx", "\rx", "normal", "", "'=déjà", "=HYPERLINK(\"http://evil\")", "1=1", " =x", "-", "+"]


@pytest.fixture
def rules(page):
    page.goto("about:blank")
    page.add_script_tag(path=str(CLIENT_DIR / "carte.js"))
    page.wait_for_function("() => !!window.cstiRules")
    return page


def test_safe_url_is_one_rule(rules):
    js = rules.evaluate("(urls) => urls.map(u => window.cstiRules.safeUrl(u))", URLS)
    assert js == [safe_url(u) for u in URLS]
    assert sum(v is not None for v in js) >= 8  # the table has both kinds


def test_formula_neutralisation_is_one_rule(rules):
    js = rules.evaluate("(cells) => cells.map(c => window.cstiRules.csvCell(c))", CELLS)
    assert js == [neutralise_value(c) for c in CELLS]


def test_french_labels(rules):
    got = rules.evaluate("() => [0, 1, 2, 1234].map(n => window.cstiRules.plural(n, 'acteur affiché', 'acteurs affichés'))")
    assert [g.replace("\u202f", " ").replace("\u00a0", " ") for g in got] == ["0 acteur affiché", "1 acteur affiché", "2 acteurs affichés", "1 234 acteurs affichés"]
    # No finer than the positions (about 100 m): 0 and 37 m are « moins de 100 m », 850 m rounds to 900 m, 960 m to 1,0 km.
    dist = rules.evaluate("() => [0, 37, 149, 850.4, 960, 3200, 12345].map(m => window.cstiRules.distanceLabel(m))")
    assert [d.replace("\u00a0", " ") for d in dist] == ["à moins de 100 m", "à moins de 100 m", "à 100 m", "à 900 m", "à 1,0 km", "à 3,2 km",
                                                           "à 12,3 km"]
