"""The coverage page in a real browser at 1440 px: a reach change gives new figures; the tables fit the screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

RURAL_PEOPLE = '[data-testid="stMetric"]:has-text("Habitants ruraux hors de portée") [data-testid="stMetricValue"]'


@pytest.fixture
def wide(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    pg = context.new_page()
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort())
    yield pg
    context.close()


def test_reach_change_gives_new_figures_and_tables_fit_1440_px(wide, app_url):
    wide.goto(f"{app_url}/couverture")
    value = wide.wait_for_selector(RURAL_PEOPLE, timeout=120_000)
    before = value.inner_text()
    assert re.match(r"entre [\d\u202f]+ et [\d\u202f]+", before), before
    # Ranges wrap rather than end in an ellipsis.
    assert value.evaluate("e => getComputedStyle(e).whiteSpace") == "normal"
    # The rural reach slider, moved by the keyboard: ten steps of 0,5 km.
    thumb = wide.locator('input[type="range"][aria-label="Portée pour les communes rurales (km)"]')
    assert thumb.input_value() == "15"
    thumb.focus()
    for _ in range(10):
        thumb.press("ArrowRight")
    figure = wide.locator(RURAL_PEOPLE).first
    for _ in range(120):  # wait (up to a minute) for the rerun to bring new figures
        if figure.inner_text() != before:
            break
        wide.wait_for_timeout(500)
    after = figure.inner_text()
    assert after != before and re.match(r"entre [\d\u202f]+ et [\d\u202f]+", after), (before, after)
    assert "Traceback" not in wide.locator("body").inner_text()
    for tab in ("Communes rurales hors de portée", "Par département", "Par intercommunalité", "Où agir ensuite"):
        wide.get_by_role("tab", name=tab).click()
        grid = wide.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first
        grid.wait_for(timeout=30_000)
        wide.wait_for_timeout(500)
        # Nothing cut off: the grid's scroller needs no horizontal scroll at 1440 px.
        widths = grid.evaluate(
            "g => { const s = g.querySelector('.dvn-scroller') || g; return [s.scrollWidth, s.clientWidth]; }"
        )
        assert widths[0] <= widths[1] + 2, (tab, widths)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wide.screenshot(path=str(SCREENSHOTS / "couverture_tableaux.png"), full_page=True)
