"""The public map in a real browser: the Streamlit app and the published static site, with sample and hostile data."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from benchmarks.maps import serve
from cartography.publish import publish_site
from geodata.actors import placed_mask
from geodata.directory import load_directory
from geodata.selection import Selection, select_actors
from geodata.settings import get_settings
from tests.browser.conftest import HOSTILE, SCREENSHOTS
from tests.browser.mapcheck import COUNT_IN_JS, open_popups, outlines, wait_for_markers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAP_IFRAME = 'iframe[title^="Carte interactive"]'
PWNED = "() => typeof window.__pwned"


def _map_frame(page):
    frame = page.wait_for_selector(MAP_IFRAME, timeout=90_000).content_frame()
    # The iframe element appears before its document is written: wait for the map inside it.
    frame.wait_for_selector(".folium-map", state="attached", timeout=60_000)
    return frame


def _wait_count(page, expected: int) -> int:
    """The app re-renders the iframe after a filter: wait on whichever frame is current."""
    page.wait_for_function(
        f"""([sel, n]) => {{
          const f = document.querySelector(sel);
          const d = f && f.contentDocument;
          const m = d && d.querySelector('.folium-map');
          return !!m && m.getAttribute('data-csti-shown') === String(n) && ({COUNT_IN_JS})(d) === n;
        }}""",
        arg=[MAP_IFRAME, expected],
        timeout=60_000,
    )
    return expected


@pytest.fixture(scope="module")
def sample(reference):
    return load_directory(settings=get_settings(), reference=reference)


@pytest.fixture(scope="module")
def hostile(reference):
    return load_directory(settings=get_settings({"CSTI_ACTORS_FILE": str(HOSTILE)}), reference=reference)


def _placed(actors) -> int:
    return int(placed_mask(actors).sum())


def test_app_map_filters_and_popup(page, app_url, sample):
    page.goto(f"{app_url}/")
    frame = _map_frame(page)
    assert frame.locator(".folium-map").count() == 1
    assert wait_for_markers(frame, _placed(sample)) == _placed(sample)
    drawn = outlines(frame)
    assert drawn["departements"] == 13 and drawn["painted"] > 2_000, drawn
    page.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "carte.png"))

    expected = select_actors(sample, Selection(query="Niaux"))
    assert _placed(expected) == 1
    box = page.get_by_label("Rechercher un nom ou une commune")
    box.fill("Niaux")
    box.press("Enter")
    _wait_count(page, 1)
    assert "q=Niaux" in page.url  # permalink of the filter
    popups = open_popups(_map_frame(page))
    assert [p["name"] for p in popups] == list(expected["nom"])


def test_app_permalink_reproduces_filters(page, app_url, sample):
    expected = _placed(select_actors(sample, Selection(departements=("34",))))
    page.goto(f"{app_url}/?dep=34&lat=43.6&lon=3.8&z=9")
    _wait_count(page, expected)
    frame = _map_frame(page)
    assert frame.evaluate("() => window.cstiMap.map.getZoom()") == 9


def test_statistics_page_renders(page, app_url):
    page.goto(f"{app_url}/statistiques")
    frame = page.wait_for_selector('iframe[title^="Carte choroplèthe"]', timeout=90_000).content_frame()
    frame.wait_for_selector(".csti-choro-legend")
    assert frame.evaluate("() => document.querySelectorAll('.leaflet-overlay-pane canvas').length") >= 1
    page.wait_for_timeout(800)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "statistiques.png"))


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
        assert page.locator(".folium-map").count() == 1
        assert wait_for_markers(page, _placed(sample)) == _placed(sample)
        drawn = outlines(page)
        assert drawn["departements"] == 13 and drawn["painted"] > 2_000, drawn
        page.screenshot(path=str(tmp_path / "site.png"))
        page.fill(".csti-filters input", "Niaux")
        assert wait_for_markers(page, 1) == 1
        assert [p["name"] for p in open_popups(page)] == list(select_actors(sample, Selection(query="Niaux"))["nom"])
        page.fill(".csti-filters input", "")
        musees = _placed(sample[sample["type_structure"] == "musée/centre de sciences"])
        page.select_option(".csti-filters select >> nth=0", label="Musée, centre de sciences")
        assert wait_for_markers(page, musees) == musees
        # The site works under its Content-Security-Policy, and the policy is in force: an inline script is refused.
        assert page.evaluate("() => window.__csp") == []
        assert not [m for m in console if "Content Security Policy" in m], console
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.appendChild(s); }")
        page.wait_for_function("() => window.__csp.length > 0")
        assert page.evaluate("() => [typeof window.__inline, window.__csp]") == ["undefined", ["script-src-elem inline"]]


def _assert_hostile_safe(page, frame, actors):
    n = _placed(actors)
    wait_for_markers(frame, n)
    popups = open_popups(frame)
    assert len(popups) == n, "chaque acteur hostile doit être un marqueur isolé à l'échelle régionale"
    assert sorted(p["name"] for p in popups) == sorted(str(v).strip() for v in actors["nom"])
    for p in popups:
        assert all(h.startswith(("http://", "https://")) for h in p["links"]), p["links"]
        assert "<script" not in p["html"].lower() and "<img" not in p["html"].lower() and "<svg" not in p["html"].lower()
    frame.locator(".csti-marker").first.hover()
    frame.wait_for_selector(".leaflet-tooltip")
    assert frame.evaluate("() => document.querySelector('.leaflet-tooltip').textContent") in set(actors["nom"].str.strip())
    legend = frame.evaluate("() => document.querySelector('.csti-legend').textContent")
    assert "Autre" in legend and "script" not in legend
    assert frame.evaluate(PWNED) == "undefined"
    assert page.evaluate(PWNED) == "undefined"
    assert page.dialogs == []


def test_hostile_names_in_app(page, hostile_app_url, hostile):
    page.goto(f"{hostile_app_url}/")
    frame = _map_frame(page)
    _assert_hostile_safe(page, frame, hostile)
    page.wait_for_timeout(300)
    assert page.evaluate(PWNED) == "undefined"


def test_hostile_names_in_static_site(page, tmp_path, reference, hostile):
    site = tmp_path / "site"
    publish_site(site, hostile, reference.departements, reference.communes)
    with serve(site) as base:
        page.goto(f"{base}/index.html")
        _assert_hostile_safe(page, page, hostile)
        page.fill(".csti-filters input", "<script>")
        assert wait_for_markers(page, 1) == 1
        assert page.evaluate(PWNED) == "undefined"
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


def test_app_view_survives_filter_and_communes_appear(page, app_url, sample):
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
    box = page.get_by_label("Rechercher un nom ou une commune")
    box.fill("Montpellier")
    box.press("Enter")
    _wait_count(page, _placed(select_actors(sample, Selection(query="Montpellier"))))
    assert "q=Montpellier" in page.url and "z=10" in page.url
    assert _map_frame(page).evaluate("() => window.cstiMap.map.getZoom()") == 10
