"""In a real browser: a directory with an itinerant offer; the toggle « Compter les offres itinérantes » changes the figures."""

from __future__ import annotations

import pandas as pd
import pytest

from geodata.directory import SAMPLE_FILE
from tests.browser.conftest import SCREENSHOTS, start_app, stop

RURAL_PEOPLE = '[data-testid="stMetric"]:has-text("Habitants ruraux hors de portée") [data-testid="stMetricValue"]'
WAIT = 120_000


@pytest.fixture(scope="module")
def itinerant_app(tmp_path_factory):
    """The sample plus one synthetic travelling offer (test data only) declaring Lozère and the Albigeois."""
    tmp = tmp_path_factory.mktemp("itinerant")
    sample = pd.read_csv(SAMPLE_FILE, sep=None, engine="python", dtype=str, keep_default_na=False)
    extra = {c: "" for c in sample.columns} | {
        "nom": "Tiers-lieu mobile (test)",
        "commune": "Mende",
        "code_postal": "48000",
        "type_structure": "association",
        "cercle": "1",
    }
    directory = pd.concat([sample, pd.DataFrame([extra])], ignore_index=True)
    directory["zone_intervention"] = [""] * len(sample) + ["48; 248100737"]
    path = tmp / "annuaire.csv"
    directory.to_csv(path, sep=";", index=False)
    proc, url = start_app(tmp, {"CSTI_ACTORS_FILE": str(path)})
    yield url
    stop(proc)


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_the_itinerant_toggle_changes_the_figures(browser, itinerant_app, width, height):
    phone = width < 600
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR", has_touch=phone, is_mobile=phone)
    page = context.new_page()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort()
    )
    try:
        page.goto(f"{itinerant_app}/couverture")
        figure = page.wait_for_selector(RURAL_PEOPLE, timeout=WAIT)
        page.get_by_text("Offres itinérantes : 1 acteur compté déclare une zone d'intervention").wait_for(timeout=WAIT)
        before = figure.inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if phone:
            page.get_by_test_id("stExpandSidebarButton").click()
        toggle = page.get_by_role("switch", name="Compter les offres itinérantes")
        assert toggle.is_checked()
        toggle.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"couverture-itinerance-{width}.png"))
        page.get_by_text("Compter les offres itinérantes").click()
        page.get_by_text("non comptée ici").wait_for(timeout=WAIT)
        after = page.locator(RURAL_PEOPLE).first.inner_text()
        assert after != before, (before, after)
        assert "Traceback" not in page.locator("body").inner_text()
    finally:
        context.close()
