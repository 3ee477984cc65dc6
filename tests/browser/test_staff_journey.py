"""The staff journey in a real browser: survey file -> validation (region rule) -> geocoding -> directory -> public map -> undo."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cartography.actors_map import embedded_strings
from geodata.auth import hash_password
from geodata.directory import SAMPLE_FILE
from geodata.importing import import_actors
from tests.browser.conftest import start_app, stop
from tests.browser.mapcheck import open_cards
from tests.conftest import SHARED_DATA

MUSEES = SHARED_DATA / "musees_de_france" / "liste-et-localisation-des-musees-de-france.csv"
PASSWORD = "mot de passe de test"  # noqa: S105 (test account, hashed below)
MAP_IFRAME = 'iframe[title^="Carte interactive"]'
WAIT = 120_000


@pytest.fixture(scope="module")
def journey_app(tmp_path_factory):
    if not MUSEES.exists():
        pytest.skip(f"données partagées absentes : {MUSEES}")
    proc, url = start_app(tmp_path_factory.mktemp("journey"), {"CSTI_STAFF_ACCOUNTS": f"alice:{hash_password(PASSWORD, rounds=4)}"})
    yield url
    stop(proc)


def _login(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Identifiant").fill("alice")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Se déconnecter").wait_for(timeout=WAIT)


def _public_search(browser, url: str, name: str, expected: int) -> str:
    """A visitor's fresh context: the Carte page searched for ``name`` until it shows ``expected`` actors; the map's document.

    With one actor expected, its card (opened from the map) must carry ``name``.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:")) else route.abort())
        page.goto(url + "/")  # the Carte page is the default one
        frame = page.wait_for_selector(MAP_IFRAME, timeout=WAIT).content_frame()
        frame.wait_for_selector("html[data-csti-ready]", state="attached", timeout=WAIT)  # the client has its data
        box = frame.get_by_label("Rechercher un acteur, une commune ou un code postal")
        box.fill(name, timeout=WAIT)
        box.press("Enter")
        frame.wait_for_function(
            "(n) => { const m = document.querySelector('#csti-map'); return !!m && m.getAttribute('data-csti-shown') === String(n); }",
            arg=expected,
            timeout=WAIT,
        )
        if expected == 1:
            assert [c["name"] for c in open_cards(frame)] == [name]
        return frame.content()
    finally:
        context.close()


def _in_document(name: str, html: str) -> bool:
    """Whether the map's data carry ``name``: the string table of its payload (gzip, base 64).

    Only the data count: the page's own text may quote what the visitor typed (the empty state does).
    """
    tables = [embedded_strings(z) for z in re.findall(r'"z"\s*:\s*"([A-Za-z0-9+/=]+)"', html)]
    assert tables, "no payload found in the map's document"
    return any(name in table for table in tables)


def test_from_the_survey_file_to_the_public_map_and_back(browser, journey_app):
    raw = pd.read_csv(MUSEES, sep=";", dtype=str, keep_default_na=False)
    in_region = raw[raw["region_administrative"] == "Occitanie"]
    outside = len(raw) - len(in_region)
    names = in_region["nom_officiel_du_musee"]
    sample = " ".join(import_actors(SAMPLE_FILE).actors["nom"]).lower()
    museum = next(n for n in names if len(n) > 15 and not re.search(r"[\'\"&<>’]", n) and names.str.lower().str.contains(n.lower(), regex=False).sum() == 1 and n.lower() not in sample)

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    _login(page, journey_app + "/import")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(MUSEES), timeout=WAIT)
    # The report keeps the Occitanie rows and sets the others aside, counted from the file's own region column.
    page.get_by_text(f"{len(in_region)} acteurs retenus, 0 lignes rejetées, {outside} lignes hors Occitanie écartées").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Géocoder").click()  # offline: CSTI_OFFLINE=1 (cache, then the commune gazetteer)
    plan = f"{len(raw)} lignes : {len(in_region)} nouveaux, 0 mis à jour, 0 inchangés, 0 rejetés, {outside} écartés (hors Occitanie)."
    page.get_by_text(plan).wait_for(timeout=WAIT)  # every row of the file in exactly one group
    page.get_by_role("button", name="Enregistrer dans l'annuaire", exact=True).click()
    page.get_by_text("Import enregistré dans l'annuaire : lot n° 1").wait_for(timeout=WAIT)
    page.get_by_text("Rien à enregistrer : l'annuaire contient déjà ces acteurs tels quels.").wait_for(timeout=WAIT)  # same file again: a no-op

    html = _public_search(browser, journey_app, museum, expected=1)
    assert _in_document(museum, html)  # found on the public map: the search shows it, its data travel inside the map's document

    page.get_by_role("link", name="Édition").click()  # in the same session: a reload would ask for the login again
    page.get_by_role("tab", name="Historique").click(timeout=WAIT)
    page.get_by_role("button", name="Annuler cet import").click(timeout=WAIT)
    page.get_by_text(f"Import n° 1 annulé : {len(in_region)} changements défaits.").wait_for(timeout=WAIT)
    context.close()

    html = _public_search(browser, journey_app, museum, expected=0)
    assert not _in_document(museum, html)
