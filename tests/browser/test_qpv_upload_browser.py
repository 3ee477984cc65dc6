"""In a real browser: staff load the official QPV file from « Géographie de référence », then the coverage shows the QPV."""

from __future__ import annotations

import pytest

from geodata.auth import hash_password
from tests.browser.conftest import SCREENSHOTS, sign_in, start_app, stop
from tests.conftest import SHARED_DATA

QPV_FILE = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson"
POPULATION = SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"
PASSWORD = "mot de passe de test"  # noqa: S105 (test account, hashed below)
WAIT = 120_000


@pytest.fixture(scope="module")
def qpv_app(tmp_path_factory):
    if not QPV_FILE.exists():
        pytest.skip(f"données partagées absentes : {QPV_FILE}")
    tmp = tmp_path_factory.mktemp("qpv_upload")
    proc, url = start_app(
        tmp, {"CSTI_STAFF_ACCOUNTS": f"alice:{hash_password(PASSWORD, rounds=4)}", "CSTI_QPV_FILE": "", "CSTI_QPV_POPULATION_FILE": ""}
    )
    yield url, tmp
    stop(proc)


def test_staff_load_the_qpv_file_and_the_coverage_uses_it(browser, qpv_app):
    url, tmp = qpv_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort()
    )
    try:
        page.goto(url + "/couverture")
        page.get_by_text("depuis la page « Géographie de référence »").wait_for(timeout=WAIT)
        sign_in(page, url + "/geographie", PASSWORD)
        page.get_by_text("couche non chargée").wait_for(timeout=WAIT)
        inputs = page.locator('input[type="file"]')
        inputs.nth(0).set_input_files(str(QPV_FILE))
        inputs.nth(1).set_input_files(str(POPULATION))
        page.get_by_text("qp.geojson").first.wait_for(timeout=WAIT)
        page.get_by_role("button", name="Charger la couche des QPV").click()
        page.get_by_text("Couche des QPV chargée : 105 quartiers d'Occitanie").wait_for(timeout=WAIT)
        page.screenshot(path=str(SCREENSHOTS / "geographie-qpv-1440.png"), full_page=True)
        assert (tmp / "data" / "qpv" / "quartiers.geojson").read_bytes() == QPV_FILE.read_bytes()
        page.goto(url + "/couverture")
        page.get_by_text("QPV hors de portée").first.wait_for(timeout=WAIT)
        assert page.get_by_text("n'est pas chargée").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "couverture-avec-qpv-1440.png"))
    finally:
        context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR", has_touch=True, is_mobile=True)
    page = phone.new_page()
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort()
    )
    try:
        sign_in(page, url + "/geographie", PASSWORD)
        page.get_by_text("fichier déposé par l'équipe").wait_for(timeout=WAIT)
        page.screenshot(path=str(SCREENSHOTS / "geographie-qpv-390.png"), full_page=True)
    finally:
        phone.close()
