"""The coverage page in a real browser at 1440 px: a reach change gives new figures; the tables fit the screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, start_app, stop
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.browser

QPV_FILE = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson"
POPULATION = SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"
RURAL_PEOPLE = '[data-testid="stMetric"]:has-text("Habitants ruraux hors de portée") [data-testid="stMetricValue"]'


@pytest.fixture
def wide(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    pg = context.new_page()
    pg.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort()
    )
    yield pg
    context.close()


@pytest.fixture(scope="module")
def qpv_app_url(tmp_path_factory):
    """The app with the QPV layer loaded: the QPV table and the territory tables' QPV figures are on the page."""
    if not QPV_FILE.exists():
        pytest.skip(f"données partagées absentes : {QPV_FILE}")
    proc, url = start_app(
        tmp_path_factory.mktemp("couverture_qpv"), {"CSTI_QPV_FILE": str(QPV_FILE), "CSTI_QPV_POPULATION_FILE": str(POPULATION)}
    )
    yield url
    stop(proc)


def test_reach_change_gives_new_figures_and_tables_fit_1440_px(wide, qpv_app_url):
    app_url = qpv_app_url
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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for tab in ("Communes rurales hors de portée", "QPV", "Par département", "Par intercommunalité", "Où agir ensuite"):
        wide.get_by_role("tab", name=tab).click()
        grid = wide.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first
        grid.wait_for(timeout=30_000)
        wide.wait_for_timeout(500)
        # Nothing cut off: the grid's scroller needs no horizontal scroll at 1440 px.
        widths = grid.evaluate("g => { const s = g.querySelector('.dvn-scroller') || g; return [s.scrollWidth, s.clientWidth]; }")
        assert widths[0] <= widths[1] + 2, (tab, widths)
        grid.screenshot(path=str(SCREENSHOTS / f"couverture_tableau_{tab[:12]}.png"))
        if tab == "QPV":
            assert "Quartier" in grid.evaluate("g => g.textContent")  # the QPV table, not an empty placeholder
            grid.screenshot(path=str(SCREENSHOTS / "couverture_qpv_1440.png"))
    wide.screenshot(path=str(SCREENSHOTS / "couverture_tableaux.png"), full_page=True)
