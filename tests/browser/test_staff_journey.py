"""The staff journey in a real browser: survey file -> validation (region rule) -> geocoding -> correction on the map -> directory -> public map -> undo."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cartography.actors_map import embedded_columns, embedded_strings, page_data
from geodata.auth import hash_password
from geodata.corrections import commune_of_point
from geodata.directory import SAMPLE_FILE
from geodata.importing import import_actors
from geodata.reference import load_reference
from tests.browser.conftest import SCREENSHOTS, sign_in, start_app, stop
from tests.browser.mapcheck import open_cards
from tests.conftest import SHARED_DATA

MUSEES = SHARED_DATA / "musees_de_france" / "liste-et-localisation-des-musees-de-france.csv"
PASSWORD = "mot de passe de test"  # noqa: S105 (test account, hashed below)
MAP_IFRAME = 'iframe[title^="Carte interactive"]'
CORRECTION_IFRAME = ".st-key-carte-correction iframe"
WAIT = 120_000


@pytest.fixture(scope="module")
def journey_app(tmp_path_factory):
    if not MUSEES.exists():
        pytest.skip(f"données partagées absentes : {MUSEES}")
    proc, url = start_app(tmp_path_factory.mktemp("journey"), {"CSTI_STAFF_ACCOUNTS": f"alice:{hash_password(PASSWORD, rounds=4)}"})
    yield url
    stop(proc)


def _login(page, url: str) -> None:
    sign_in(page, url, PASSWORD)
    page.get_by_text("Se déconnecter").wait_for(state="attached", timeout=WAIT)  # in the sidebar, folded away on a phone


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


def _idle(page) -> None:
    """Wait until Streamlit has finished the script run (its status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=WAIT)


def _settled_map(page):
    """The correction map's frame once the page stopped redrawing it (the same frame, drawn, for a second and a half)."""
    for _ in range(40):
        _idle(page)
        handle = page.wait_for_selector(CORRECTION_IFRAME, timeout=WAIT)
        frame = handle.content_frame()
        frame.wait_for_function("() => window.map && window.map.getSize().y > 100", timeout=WAIT)
        page.wait_for_timeout(1500)  # the view is fitted to the commune once the frame has its size
        if handle.evaluate("(f) => f.isConnected") and not frame.is_detached():
            return frame
    pytest.fail("the correction map never settled")


#: Points of the correction map's view, as fractions of its size (x from the left, y from the top), tried in turn.
CORNERS = ((0.12, 0.88), (0.88, 0.12), (0.12, 0.12), (0.88, 0.88))


def _correct_on_the_map(page, museum: str) -> dict:
    """Choose ``museum`` in step 4, click its map where the commune differs, save; returns the point and commune clicked."""
    ref = load_reference()
    box = page.get_by_role("combobox", name="Acteur", exact=True)
    old_map = page.wait_for_selector(CORRECTION_IFRAME, timeout=WAIT)  # the first actor's map
    box.click(timeout=WAIT)
    page.keyboard.press("Control+A")
    page.keyboard.type(museum)
    page.keyboard.press("Enter")
    assert box.input_value().startswith(museum)
    page.wait_for_function("(f) => !f.isConnected", arg=old_map, timeout=WAIT)  # one map per actor: the museum's replaced it
    frame = _settled_map(page)
    before = page.get_by_text("Position actuelle :").inner_text()
    for fx, fy in CORNERS:  # a corner of the commune's bounding box lies in a neighbouring commune
        spot = frame.evaluate("([fx, fy]) => { const s = window.map.getSize(), ll = window.map.containerPointToLatLng([s.x * fx, s.y * fy]);"
                              " return {x: s.x * fx, y: s.y * fy, lat: ll.lat, lng: ll.lng}; }", [fx, fy])
        place = commune_of_point(ref, spot["lng"], spot["lat"])
        if place is not None and f"({place['code_insee']})" not in before:
            break
    else:
        pytest.fail(f"no corner of the correction map outside the actor's commune ({before})")
    frame.locator(".leaflet-container").click(position={"x": spot["x"], "y": spot["y"]})
    clicked = frame.evaluate("() => window.__GLOBAL_DATA__.lat_lng_clicked")
    place = commune_of_point(ref, clicked["lng"], clicked["lat"])  # the point as the map reports it, where the page recomputes the commune
    shown = f"Nouveau point (rouge) : {place['nom']} ({place['code_insee']})"
    page.get_by_text(shown).wait_for(timeout=WAIT)
    page.get_by_role("button", name="Enregistrer la correction").click()
    page.get_by_text(f"Position de « {museum} » corrigée par alice :").wait_for(timeout=WAIT)
    saved = page.get_by_text(f"Position de « {museum} » corrigée par alice :").inner_text()
    assert f"→ {place['nom']} ({place['code_insee']})" in saved and before.removeprefix("Position actuelle : ").rstrip(".") in saved
    return {"lon": clicked["lng"], "lat": clicked["lat"], "nom": place["nom"]}


def _public_place(html: str, name: str) -> tuple[float, float, str]:
    """(longitude, latitude, commune) of the actor named ``name`` in the public map's data."""
    data = page_data(html)
    cols = embedded_columns(data["z"])
    i = cols["n"].index(name)
    scale = data["scale"]
    return cols["lon"][i] / scale, cols["lat"][i] / scale, cols["communes"][cols["c"][i]]


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
    moved = _correct_on_the_map(page, museum)
    page.get_by_text(plan).wait_for(timeout=WAIT)  # a correction moves a point: it adds or drops no row
    page.get_by_role("button", name="Enregistrer dans l'annuaire", exact=True).click()
    page.get_by_text("Import enregistré dans l'annuaire : lot n° 1").wait_for(timeout=WAIT)
    page.get_by_text("Rien à enregistrer : l'annuaire contient déjà ces acteurs tels quels.").wait_for(timeout=WAIT)  # same file again: a no-op

    html = _public_search(browser, journey_app, museum, expected=1)
    assert _in_document(museum, html)  # found on the public map: the search shows it, its data travel inside the map's document
    lon, lat, commune = _public_place(html, museum)  # where the map click put it (the map's data keep 1e-5 degree)
    assert (abs(lon - moved["lon"]) < 2e-5, abs(lat - moved["lat"]) < 2e-5, commune) == (True, True, moved["nom"])

    page.get_by_role("link", name="Édition").click()  # in the same session: a reload would ask for the login again
    page.get_by_role("tab", name="Historique").click(timeout=WAIT)
    page.get_by_role("button", name="Annuler cet import").click(timeout=WAIT)
    page.get_by_text(f"Import n° 1 annulé : {len(in_region)} changements défaits.").wait_for(timeout=WAIT)
    context.close()

    html = _public_search(browser, journey_app, museum, expected=0)
    assert not _in_document(museum, html)


@pytest.mark.parametrize(("width", "height", "touch"), [(1440, 900, False), (390, 844, True)], ids=["bureau", "telephone"])
def test_a_thumb_or_a_mouse_sets_the_new_point_on_the_correction_map(browser, journey_app, width, height, touch):
    """The correction map on a desktop and on a phone: wide enough to aim, a tap (or click) sets the point and names its commune."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR", has_touch=touch, is_mobile=touch,
                                  device_scale_factor=2 if touch else 1)
    try:
        page = context.new_page()
        _login(page, journey_app + "/import")
        page.get_by_text("Essayer avec l'annuaire d'exemple embarqué").click()
        page.get_by_role("button", name="Géocoder").click(timeout=WAIT)
        page.get_by_text("4. Correction manuelle").wait_for(timeout=WAIT)
        frame = _settled_map(page)
        iframe = page.locator(CORRECTION_IFRAME)
        iframe.scroll_into_view_if_needed()
        box = iframe.bounding_box()
        assert box["width"] >= 0.85 * min(width, 700) and box["height"] >= 300  # room for a thumb, the page still scrolls below it
        spot = {"x": box["width"] * 0.3, "y": box["height"] * 0.7}
        target = frame.locator(".leaflet-container")
        target.tap(position=spot) if touch else target.click(position=spot)
        clicked = frame.evaluate("() => window.__GLOBAL_DATA__.lat_lng_clicked")
        place = commune_of_point(load_reference(), clicked["lng"], clicked["lat"])
        shown = page.get_by_text(f"Nouveau point (rouge) : {place['nom']} ({place['code_insee']})")
        shown.wait_for(timeout=WAIT)
        _idle(page)
        page.wait_for_timeout(800)  # the red point is drawn in the map
        iframe.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"correction-carte-{width}x{height}.png"))
        save = page.get_by_role("button", name="Enregistrer la correction")
        save.scroll_into_view_if_needed()
        size = save.bounding_box()
        assert size["height"] >= 32 and size["x"] >= 0 and size["x"] + size["width"] <= width  # a button a thumb can press, on screen
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways scrolling
    finally:
        context.close()
