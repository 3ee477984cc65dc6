"""The public map in a real browser: the Streamlit app and the published static site, desktop and phone, sample and hostile data."""

from __future__ import annotations

import re
import shutil
from urllib.parse import unquote

import pandas as pd
import pytest

from benchmarks.maps import serve
from cartography.assets import npm_file
from cartography.publish import publish_site, sample_note
from geodata.actors import placed_mask
from geodata.directory import load_directory
from geodata.selection import Selection, select_actors
from geodata.settings import get_settings
from tests.browser.conftest import CHROMIUM, HOSTILE, SCREENSHOTS
from tests.browser.mapcheck import CARD, COUNT_IN_JS, card, close_card, open_cards, outlines, wait_for_markers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAP_IFRAME = 'iframe[title^="Carte interactive"]'
PWNED = "() => typeof window.__pwned"
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}


def _map_frame(page):
    frame = page.wait_for_selector(MAP_IFRAME, timeout=90_000).content_frame()
    # The iframe element appears before its document is loaded: wait for the client to have its data.
    frame.wait_for_selector("html[data-csti-ready]", state="attached", timeout=60_000)
    return frame


def _wait_count(frame, expected: int) -> int:
    frame.wait_for_function(
        f"""(n) => {{
          const m = document.querySelector('#csti-map');
          return !!m && m.getAttribute('data-csti-shown') === String(n) && ({COUNT_IN_JS})(document) === n;
        }}""",
        arg=expected,
        timeout=60_000,
    )
    return expected


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


@pytest.fixture(scope="module")
def site(tmp_path_factory, reference, sample):
    """The static site of the sample, served on a loopback port."""
    out = tmp_path_factory.mktemp("site") / "site"
    publish_site(out, sample, reference.departements, reference.communes, codes_postaux=reference.codes_postaux, note=sample_note(sample))
    with serve(out) as base:
        yield f"{base}/index.html"


@pytest.fixture(scope="module")
def axe_script(tmp_path_factory):
    """axe-core, pinned, from the npm registry tarball cached by the install step (checked against its integrity)."""
    path = tmp_path_factory.mktemp("axe") / "axe.min.js"
    path.write_bytes(npm_file("axe-core"))
    return path


def _context(browser, kind: dict):
    if not CHROMIUM.exists():
        pytest.skip("Chromium absent")
    context = browser.new_context(locale="fr-FR", **kind)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:", "about:", "blob:")) else route.abort())
    return context


def _page_of(browser, kind: dict):
    context = _context(browser, kind)
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    return context, pg


@pytest.fixture
def phone(browser):
    context, pg = _page_of(browser, PHONE)
    yield pg
    context.close()


@pytest.fixture
def desktop(browser):
    context, pg = _page_of(browser, DESKTOP)
    yield pg
    context.close()


def _placed(actors) -> int:
    return int(placed_mask(actors).sum())


#: True when (lat, lon) is shown near the middle of the map's part no panel covers (the bar, the count and the note on
#: top; the list on a desktop's right; an open bottom sheet on a phone), at the given zoom.
_IN_FREE_MIDDLE = """([lat, lon, zoom]) => {
  const m = window.cstiMap.map, box = document.getElementById('csti-map').getBoundingClientRect();
  const shown = (e) => e && !e.hidden && e.offsetHeight > 0, rect = (e) => e.getBoundingClientRect();
  let top = box.top, right = box.right, bottom = box.bottom;
  for (const sel of ['.csti-bar', '.csti-status', '#csti-note']) { const e = document.querySelector(sel); if (shown(e)) top = Math.max(top, rect(e).bottom); }
  for (const id of ['csti-filters', 'csti-list', 'csti-card']) {
    const e = document.getElementById(id);
    if (!shown(e)) continue;
    if (rect(e).width >= box.width - 1) bottom = Math.min(bottom, rect(e).top); else if (id === 'csti-list') right = Math.min(right, rect(e).left);
  }
  const p = m.latLngToContainerPoint([lat, lon]), x = box.left + p.x, y = box.top + p.y;
  return m.getZoom() === zoom && x > box.left && x < right && y > top && y < bottom
    && Math.abs(x - (box.left + right) / 2) < 40 && Math.abs(y - (top + bottom) / 2) < 40;
}"""


def _record_websocket(page) -> list:
    """Every frame the page sends over Streamlit's websocket (a rerun is one of them)."""
    sent: list = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    return sent


def _map_share(page, frame) -> float:
    """Share of the first screen covered by the map (the client's map element, clipped to the viewport)."""
    box = frame.evaluate("() => { const r = document.getElementById('csti-map').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")
    if frame != page.main_frame:
        outer = page.locator(MAP_IFRAME).bounding_box()
        box = [box[0] + outer["x"], box[1] + outer["y"], box[2] + outer["x"], box[3] + outer["y"]]
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]
    w = max(0, min(box[2], vw) - max(box[0], 0))
    h = max(0, min(box[3], vh) - max(box[1], 0))
    return w * h / (vw * vh)


def _shot(page, name: str) -> None:
    page.wait_for_timeout(600)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# -- the app --------------------------------------------------------------------------------------------


def test_app_map_search_and_card(desktop, app_url, sample):
    page = desktop
    sent = _record_websocket(page)
    page.goto(f"{app_url}/")
    frame = _map_frame(page)
    assert wait_for_markers(frame, _placed(sample)) == _placed(sample)
    assert any("/app/static/vendor/client/carte-worker.js" in w.url for w in page.workers)  # the engine's worker runs in the app too
    drawn = outlines(frame)
    assert drawn["departements"] == 13 and drawn["painted"] > 2_000, drawn
    assert frame.locator("#csti-note").inner_text().startswith("Données d'exemple : 124 lieux publics")
    _shot(page, "carte")

    page.wait_for_timeout(500)
    before = len(sent)
    expected = select_actors(sample, Selection(query="Niaux"))
    assert _placed(expected) == 1
    box = frame.get_by_label("Rechercher un acteur, une commune ou un code postal")
    box.fill("Niaux")
    box.press("Enter")
    _wait_count(frame, 1)
    assert frame.locator("#csti-count").inner_text() == "1 acteur affiché"
    page.wait_for_function("() => window.location.search.includes('q=Niaux')")  # permalink of the filter, in the app's URL
    assert [c["name"] for c in open_cards(frame)] == list(expected["nom"])
    # Search, filter and card ran in the browser: the page sent nothing to the server, so no rerun.
    assert len(sent) == before, sent[before:]


def test_app_permalink_reproduces_filters(desktop, app_url, sample):
    expected = _placed(select_actors(sample, Selection(departements=("34",))))
    desktop.goto(f"{app_url}/?dep=34&lat=43.6&lon=3.8&z=9")
    frame = _map_frame(desktop)
    _wait_count(frame, expected)
    assert frame.evaluate("() => window.cstiMap.map.getZoom()") == 9


def test_app_phone_map_fills_the_screen_and_filters_without_rerun(phone, app_url, sample):
    page = phone
    sent = _record_websocket(page)
    page.goto(f"{app_url}/")
    frame = _map_frame(page)
    wait_for_markers(frame, _placed(sample))
    assert _map_share(page, frame) >= 0.85
    assert frame.locator(".csti-legend").evaluate("d => d.open") is False  # folded on a phone
    _shot(page, "carte-telephone")
    page.wait_for_timeout(500)
    before = len(sent)
    frame.locator("#csti-filters-btn").tap()
    assert frame.locator("#csti-filters").is_visible()
    musees = _placed(sample[sample["type_structure"] == "musée/centre de sciences"])
    family_counts = frame.locator("#csti-fams .csti-n").all_inner_texts()
    frame.get_by_label(re.compile(r"^Musée, centre de sciences")).tap()
    _wait_count(frame, musees)
    assert frame.locator("#csti-fams .csti-n").all_inner_texts() != family_counts  # counts follow the other filters
    assert frame.locator("#csti-count").inner_text() == f"{musees} acteurs affichés"
    assert len(sent) == before, "a filter must not rerun the Streamlit script"
    # One more tap shows the actors again: "Réinitialiser".
    frame.locator("#csti-filters-reset").tap()
    _wait_count(frame, _placed(sample))
    # A commune typed: the list's sheet opens with distances, the place centred above it, still no rerun.
    frame.locator("#csti-search").fill("Figea")
    frame.locator("#csti-suggest .csti-option", has_text="Figeac (46100)").tap()
    frame.wait_for_selector("#csti-items .csti-item-dist")
    assert frame.locator("#csti-list").is_visible()
    frame.wait_for_function(_IN_FREE_MIDDLE, arg=[44.608, 2.032, 12])
    assert len(sent) == before, "a search must not rerun the Streamlit script"


def test_app_view_survives_filter_and_communes_appear(desktop, app_url, sample):
    page = desktop
    page.goto(f"{app_url}/")
    frame = _map_frame(page)
    wait_for_markers(frame, _placed(sample))
    frame.evaluate("() => window.cstiMap.map.setView([43.6, 3.87], 10)")
    page.wait_for_function("() => window.location.search.includes('z=10')")
    assert "lat=43.6" in page.url and "lon=3.87" in page.url
    frame.wait_for_function(
        "() => { let n = 0; window.cstiMap.map.eachLayer(l => { if (l.feature && l.feature.properties.code_insee) { n += 1; } }); return n > 1000; }",
        timeout=30_000,
    )
    frame.fill("#csti-search", "Montpellier")
    frame.wait_for_function("() => window.cstiMap.state.q === 'montpellier'")
    shown = _placed(select_actors(sample, Selection(query="Montpellier")))
    frame.wait_for_function(f"() => document.getElementById('csti-map').getAttribute('data-csti-shown') === '{shown}'")
    page.wait_for_function("() => window.location.search.includes('q=Montpellier')")
    assert "z=10" in page.url and frame.evaluate("() => window.cstiMap.map.getZoom()") == 10


def test_statistics_page_renders(page, app_url):
    page.goto(f"{app_url}/statistiques")
    frame = page.wait_for_selector('iframe[title^="Carte choroplèthe"]', timeout=90_000).content_frame()
    frame.wait_for_selector(".csti-choro-legend")
    assert frame.evaluate("() => document.querySelectorAll('.leaflet-overlay-pane canvas').length") >= 1
    page.wait_for_timeout(800)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "statistiques.png"))


# -- the static site ---------------------------------------------------------------------------------------

#: Records every Content-Security-Policy violation of the page (init scripts are not subject to the policy).
CSP_PROBE = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI));"""


def test_static_site(page, tmp_path, reference, sample):
    site = tmp_path / "site"
    publish_site(site, sample, reference.departements, reference.communes)
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.add_init_script(CSP_PROBE)
    with serve(site) as base:
        page.goto(f"{base}/index.html")
        assert page.locator("#csti-map").count() == 1
        assert wait_for_markers(page, _placed(sample)) == _placed(sample)
        drawn = outlines(page)
        assert drawn["departements"] == 13 and drawn["painted"] > 2_000, drawn
        page.screenshot(path=str(tmp_path / "site.png"))
        page.fill("#csti-search", "Niaux")
        assert wait_for_markers(page, 1) == 1
        assert [c["name"] for c in open_cards(page)] == list(select_actors(sample, Selection(query="Niaux"))["nom"])
        page.fill("#csti-search", "")
        wait_for_markers(page, _placed(sample))
        musees = _placed(sample[sample["type_structure"] == "musée/centre de sciences"])
        page.click("#csti-filters-btn")
        page.get_by_label(re.compile(r"^Musée, centre de sciences")).check()
        assert wait_for_markers(page, musees) == musees
        # The site works under its Content-Security-Policy, and the policy is in force: an inline script is refused.
        assert page.evaluate("() => window.__csp") == []
        assert not [m for m in console if "Content Security Policy" in m], console
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.appendChild(s); }")
        page.wait_for_function("() => window.__csp.length > 0")
        assert page.evaluate("() => [typeof window.__inline, window.__csp]") == ["undefined", ["script-src-elem inline"]]


def test_site_phone_tap_card_and_share_link(phone, browser, site, sample):
    page = phone
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    assert _map_share(page, page.main_frame) >= 0.85
    assert page.locator("#csti-note").is_visible()
    _shot(page, "carte-site-telephone")
    # Zoom on a cluster with a tap, then tap a marker: its card opens.
    page.locator(".csti-cluster").first.tap()
    page.wait_for_selector(".csti-marker")
    page.wait_for_timeout(400)
    page.locator(".csti-marker").first.tap()
    shown = card(page)
    # The tapped marker stays in sight above the card's sheet.
    page.wait_for_function("""() => { const m = document.querySelector('.csti-marker.csti-current');
      return m && m.getBoundingClientRect().bottom <= document.getElementById('csti-card').getBoundingClientRect().top; }""")
    assert shown["id"] and any(h.startswith("https://www.openstreetmap.org/directions?to=") for h in shown["links"])
    assert any(h.startswith("mailto:") and shown["id"] in unquote(h) for h in shown["links"])
    _shot(page, "carte-telephone-fiche")
    page.locator("#csti-card .csti-share").tap()
    page.wait_for_function("() => document.querySelector('.csti-share-link').value !== ''")
    link = page.locator(".csti-share-link").input_value()
    assert link.startswith(site) and "#acteur=" in link
    # The link opened elsewhere shows that actor's card.
    other = _context(browser, PHONE)
    try:
        fresh = other.new_page()
        fresh.goto(link)
        assert card(fresh)["name"] == shown["name"]
        assert fresh.evaluate("() => window.cstiMap.map.getZoom()") >= 13
    finally:
        other.close()


def test_site_card_names_type_and_circle_without_repeating_them(desktop, site, sample):
    """« Musée, centre de sciences · Acteurs du cercle 1 », but « Site de tourisme scientifique » alone (not its plural again)."""
    page = desktop
    lines = {}
    for family in ("cercle1", "tourisme", "fablab"):
        actor = sample[sample["famille"] == family].iloc[0]
        page.goto(f"{site}#acteur={actor['id']}")
        page.reload()
        assert card(page)["name"] == actor["nom"]
        lines[family] = page.locator("#csti-card .csti-type").text_content()
    assert lines["cercle1"].endswith(" · Acteurs du cercle 1")
    assert lines["tourisme"] == "Site de tourisme scientifique"
    assert lines["fablab"] == "Fab Lab"


def test_site_desktop_first_view_leaves_no_actor_under_the_list_or_the_legend(desktop, site, sample):
    page = desktop
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    page.wait_for_timeout(300)
    hidden = page.evaluate("""() => {
      const r = e => e.getBoundingClientRect(), meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      const covers = ['#csti-list', '.csti-legend-box', '.csti-bar', '#csti-note'].map(s => document.querySelector(s)).filter(e => e && !e.hidden).map(r);
      return [...document.querySelectorAll('.csti-cluster, .csti-marker')].filter(m => covers.some(c => meets(r(m), c))).length;
    }""")
    assert page.locator("#csti-list").is_visible() and page.locator(".csti-legend-box").evaluate("d => d.open")
    assert hidden == 0


def test_site_search_a_commune_sorts_the_list_by_distance(desktop, site, sample):
    page = desktop
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    page.fill("#csti-search", "Figea")
    option = page.locator("#csti-suggest .csti-option", has_text="Figeac (46100)")
    option.click()
    # Figeac in the middle of what the list and the bar leave of the map, at zoom 12.
    page.wait_for_function(_IN_FREE_MIDDLE, arg=[44.608, 2.032, 12])
    assert page.locator("#csti-list").is_visible()
    page.wait_for_selector("#csti-items .csti-item-dist")
    page.wait_for_function("() => document.getElementById('csti-list-count').textContent.length < 25")  # the view's few actors, not the region's
    dists = page.locator("#csti-items .csti-item-dist").all_inner_texts()
    # No finer than the positions: « à moins de 100 m », hundreds of metres, then kilometres with one decimal.
    assert dists and all(re.fullmatch(r"à moins de 100 m|à [1-9]00 m|à \d+,\d km", d.replace("\u00a0", " ")) for d in dists), dists
    values = [0.0 if "moins" in d else float(d.split()[1].replace(",", ".")) * (1 if d.endswith("km") else 0.001)
              for d in (x.replace("\u00a0", " ") for x in dists)]
    assert values == sorted(values)
    _shot(page, "carte-recherche-commune")
    # A postcode finds the same place.
    page.fill("#csti-search", "46100")
    assert page.locator("#csti-suggest .csti-option", has_text="Figeac").count() >= 1


def test_site_list_is_keyboard_accessible_and_exports_csv(desktop, site, sample):
    page = desktop
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "csti-skip"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "csti-list-title"
    assert page.locator("#csti-items li").count() == 20 and page.locator("#csti-page").inner_text().startswith("Page 1 sur ")
    page.click("#csti-next")
    assert page.locator("#csti-page").inner_text().startswith("Page 2 sur ")
    first = page.locator("#csti-items .csti-item").first
    first.focus()
    page.keyboard.press("Enter")
    assert card(page)["name"] == first.locator(".csti-item-name").inner_text()
    with page.expect_download() as info:
        page.click("#csti-csv")
    text = info.value.path().read_bytes().decode("utf-8-sig")
    table = pd.read_csv(info.value.path(), sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(table) == _placed(sample) and "contact_email" not in table.columns
    assert "\r\n" in text and re.search(r";\d+,\d+;\d+,\d+\r\n", text)  # a decimal comma, the project's CSV convention


def test_site_aucun_fond_survives_a_reload(desktop, site, sample):
    page = desktop
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    page.hover(".leaflet-control-layers")
    page.get_by_label("Aucun fond").check()
    page.wait_for_function("() => window.location.hash.includes('fond=aucun')")
    page.reload()
    assert wait_for_markers(page) > 0
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom avant"
    assert page.locator(".leaflet-control-zoom-out").get_attribute("title") == "Zoom arrière"
    assert page.locator(".leaflet-tile").count() == 0 and page.locator(".leaflet-control-layers").count() == 1


# -- accessibility -------------------------------------------------------------------------------------------


def _serious(frame, axe_script) -> list:
    # Evaluated through the devtools protocol: the site's Content-Security-Policy (script-src 'self') stays in force for the page.
    frame.evaluate("(src) => { (0, eval)(src); return typeof axe; }", axe_script.read_text(encoding="utf-8"))
    result = frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_axe_on_the_static_site(request, kind, site, sample, axe_script):
    page = request.getfixturevalue(kind)
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    assert page.evaluate("() => document.documentElement.lang") == "fr"
    assert _serious(page, axe_script) == []
    while not page.locator(".csti-marker").count():  # a phone's first view may show only clusters: Enter opens one
        clusters = page.locator(".csti-cluster").count()
        page.locator(".csti-cluster").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_function("(n) => document.querySelector('.csti-marker') || document.querySelectorAll('.csti-cluster').length !== n", arg=clusters)
    page.locator(".csti-marker").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(CARD)
    assert _serious(page, axe_script) == []


def test_axe_on_the_app_map(desktop, app_url, sample, axe_script):
    desktop.goto(f"{app_url}/")
    frame = _map_frame(desktop)
    wait_for_markers(frame, _placed(sample))
    assert frame.evaluate("() => document.documentElement.lang") == "fr"
    assert _serious(frame, axe_script) == []


# -- hostile names -------------------------------------------------------------------------------------------


def _assert_hostile_safe(page, frame, actors):
    n = _placed(actors)
    wait_for_markers(frame, n)
    cards = open_cards(frame)
    assert len(cards) == n, "chaque acteur hostile doit être un marqueur isolé à l'échelle régionale"
    assert sorted(c["name"] for c in cards) == sorted(str(v).strip() for v in actors["nom"])
    for c in cards:
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in c["links"]), c["links"]
        assert "<script" not in c["html"].lower() and "<img" not in c["html"].lower() and "<svg" not in c["html"].lower()
    frame.locator(".csti-marker").first.hover()
    frame.wait_for_selector(".leaflet-tooltip")
    assert frame.evaluate("() => document.querySelector('.leaflet-tooltip').textContent") in set(actors["nom"].str.strip())
    legend = frame.evaluate("() => document.querySelector('.csti-legend').textContent")
    assert "Autre" in legend and "script" not in legend
    # Every new element: the search box and its suggestions, the list, the card's share link.
    for typed in ("<img", "${", "SSTI", "`"):
        frame.fill("#csti-search", typed)
        frame.wait_for_timeout(250)
        options = frame.locator("#csti-suggest .csti-option-label").all_inner_texts()
        assert frame.evaluate("() => document.querySelectorAll('#csti-suggest img, #csti-suggest script, #csti-items img').length") == 0
        assert all(o.strip() in set(actors["nom"].str.strip()) or o for o in options)
    frame.fill("#csti-search", "")
    frame.wait_for_function("() => window.cstiMap.state.q === ''")
    wait_for_markers(frame, n)
    if frame.locator("#csti-list").is_hidden():
        frame.click("#csti-list-btn")
    names = frame.locator("#csti-items .csti-item-name").all_inner_texts()
    assert sorted(names) == sorted(str(v).strip() for v in actors["nom"])
    frame.locator("#csti-items .csti-item").first.click()
    frame.click("#csti-card .csti-share")
    frame.wait_for_function("() => document.querySelector('.csti-share-link').value !== ''")
    link = frame.locator(".csti-share-link").input_value()
    assert link.startswith("http://127.0.0.1") and "<" not in link and " " not in link
    close_card(frame)
    assert frame.evaluate(PWNED) == "undefined"
    assert page.evaluate(PWNED) == "undefined"
    assert page.dialogs == []


def test_hostile_names_in_app(desktop, hostile_app_url, hostile):
    desktop.goto(f"{hostile_app_url}/")
    frame = _map_frame(desktop)
    _assert_hostile_safe(desktop, frame, hostile)
    desktop.wait_for_timeout(300)
    assert desktop.evaluate(PWNED) == "undefined"


def test_hostile_names_in_static_site(desktop, tmp_path, reference, hostile):
    site = tmp_path / "site"
    publish_site(site, hostile, reference.departements, reference.communes)
    with serve(site) as base:
        desktop.goto(f"{base}/index.html")
        _assert_hostile_safe(desktop, desktop, hostile)
        desktop.fill("#csti-search", "<script>")
        assert wait_for_markers(desktop, 1) == 1
        assert desktop.evaluate(PWNED) == "undefined"
        # A shared link whose id is a payload opens nothing but the map.
        desktop.goto(f"{base}/index.html#acteur=%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D1%3E")
        wait_for_markers(desktop)
        assert desktop.locator("#csti-card").is_hidden() and desktop.evaluate(PWNED) == "undefined"
    published = pd.read_csv(site / "acteurs.csv", sep=";", dtype=str, encoding="utf-8-sig")
    assert "contact_email" not in published.columns
    shutil.rmtree(site)


def test_coverage_page_with_hostile_directory(page, hostile_app_url, hostile):
    page.goto(f"{hostile_app_url}/couverture")
    frame = page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]', timeout=120_000).content_frame()
    frame.wait_for_function("() => window.map_div && window.map_div.getContainer().querySelector('canvas')", timeout=60_000)
    names = frame.evaluate(
        "() => { const n = []; map_div.eachLayer(l => { if (l.feature && l.feature.properties.nom) { n.push(l.feature.properties.nom); } }); return n; }"
    )
    assert "Musée SSTI-{{7*7}}-END" in " ".join(names) and "SSTI-49-END" not in " ".join(names)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "TemplateSyntaxError" not in body
    assert frame.evaluate(PWNED) == "undefined" and page.evaluate(PWNED) == "undefined"
    assert page.dialogs == []


def test_site_empty_state_says_why_and_resets(desktop, site, sample):
    page = desktop
    page.goto(site)
    wait_for_markers(page, _placed(sample))
    page.fill("#csti-search", "zzzzqqq")
    page.wait_for_selector("#csti-empty:not([hidden])")
    assert page.locator("#csti-count").inner_text() == "0 acteur affiché"
    text = page.locator("#csti-empty-text").inner_text()
    assert "« zzzzqqq »" in text and "Élargissez" in text
    assert page.locator("#csti-reset").is_visible()
    page.click("#csti-empty-reset")
    assert wait_for_markers(page, _placed(sample)) == _placed(sample)
    assert page.locator("#csti-search").input_value() == "" and page.locator("#csti-empty").is_hidden()


def test_site_around_me_uses_the_browser_position_only(browser, site, sample):
    context = _context(browser, {**PHONE, "geolocation": {"latitude": 43.6045, "longitude": 1.444}, "permissions": ["geolocation"]})
    asked = []
    context.on("request", lambda r: asked.append(r.url))
    try:
        page = context.new_page()
        page.goto(site)
        wait_for_markers(page, _placed(sample))
        before = len(asked)
        page.locator("#csti-near").tap()
        page.wait_for_selector("#csti-items .csti-item-dist")
        # The position in the middle of what the list's sheet leaves of the map, not under it.
        assert page.locator("#csti-list").is_visible()
        page.wait_for_function(_IN_FREE_MIDDLE, arg=[43.6045, 1.444, 12])
        assert "votre position" in page.locator("#csti-origin").inner_text()
        # Nothing but map tiles (refused here) was requested after the position was known: it never left the page.
        assert all("1.444" not in u and "43.60" not in u for u in asked[before:] if "127.0.0.1" in u)
    finally:
        context.close()


def test_site_engine_runs_in_a_worker_and_without_one(browser, site, sample):
    """Decoding, filters and clusters run in a Web Worker; where none can start, the same engine runs in the page."""
    context = _context(browser, DESKTOP)
    try:
        page = context.new_page()
        page.goto(site)
        wait_for_markers(page, _placed(sample))
        assert any("carte-worker.js" in w.url for w in page.workers)
        # The page holds no object per actor: its markers are the ones in view only.
        assert page.locator(".csti-marker, .csti-cluster").count() < _placed(sample)
        nothing = context.new_page()
        nothing.add_init_script("window.Worker = function () { throw new Error('pas de worker'); };")
        nothing.goto(site)
        assert wait_for_markers(nothing, _placed(sample)) == _placed(sample)
        assert nothing.workers == []
        nothing.fill("#csti-search", "Niaux")
        assert wait_for_markers(nothing, 1) == 1
        assert [c["name"] for c in open_cards(nothing)] == list(select_actors(sample, Selection(query="Niaux"))["nom"])
    finally:
        context.close()
