"""The territory report from the coverage page in a real browser: choose the Tarn, click « Rapport PDF », get a PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.browser.conftest import SCREENSHOTS, start_app, stop
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.browser

QPV = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson"
QPV_POPULATION = SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"


@pytest.fixture(scope="module")
def qpv_app_url(tmp_path_factory):
    if not QPV.exists():
        pytest.skip(f"données partagées absentes : {QPV}")
    proc, url = start_app(tmp_path_factory.mktemp("app_rapport"), {"CSTI_QPV_FILE": str(QPV), "CSTI_QPV_POPULATION_FILE": str(QPV_POPULATION)})
    yield url
    stop(proc)


@pytest.fixture
def screen(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR", accept_downloads=True)
    pg = context.new_page()
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort())
    yield pg
    context.close()


IDLE = (
    "() => !document.querySelector('[data-stale=\"true\"]') && !document.body.innerText.includes('Calcul en cours')"
    " && !document.body.innerText.includes('Dessin de la carte') && document.querySelector('iframe')"
)


def idle(screen) -> None:
    """Wait until the script has finished running (no stale element, no spinner) and stays so for a second."""
    for _ in range(3):
        screen.wait_for_timeout(700)
        screen.wait_for_function(IDLE, timeout=120_000)


def test_report_pdf_from_the_page(screen, qpv_app_url):
    screen.goto(f"{qpv_app_url}/couverture")
    chooser = screen.get_by_role("combobox", name="Rapport pour les élus : territoire")
    chooser.wait_for(timeout=120_000)
    idle(screen)  # the first run ends (map drawn) before the choice
    chooser.click()
    screen.keyboard.type("Tarn (81)")
    screen.get_by_role("option", name="Tarn (81)").click()
    button = screen.get_by_role("button", name="Rapport PDF")
    # The choice reruns the block (a fragment); a click before the new buttons arrive would fetch the previous territory's file.
    idle(screen)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screen.screenshot(path=str(SCREENSHOTS / "couverture.png"))
    with screen.expect_download(timeout=120_000) as download:
        button.click()
    assert download.value.suggested_filename == "rapport-couverture-81.pdf"
    pdf = open(download.value.path(), "rb").read()
    assert pdf.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Couverture territoriale : Tarn (81)" in text and "Sources et millésimes" in text
    assert "Traceback" not in screen.locator("body").inner_text()
