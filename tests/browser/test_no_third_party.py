"""No visitor's browser talks to a third party: every request off 127.0.0.1 is recorded (and refused), on every public page."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import Counter
from urllib.parse import urlsplit

import pytest

from benchmarks.maps import serve
from cartography.base import BASE_LAYERS
from tests.browser.conftest import ROOT, SCREENSHOTS
from tests.browser.mapcheck import wait_for_markers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
#: The tile servers a visitor may choose among (the base layers' hosts): counted apart, refused like any other.
TILES = {urlsplit(url).hostname for _, url, _ in BASE_LAYERS.values() if url}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def recorded(browser):
    """A desktop page whose every request off the machine is recorded, then aborted."""
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    outside: list[str] = []

    def route(r):
        host = urlsplit(r.request.url).hostname or ""
        if host in LOOPBACK:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)  # the context's route sees every frame, the map iframes included
    page = context.new_page()
    page.outside = outside
    yield page
    context.close()


def _third_parties(urls: list[str]) -> Counter:
    return Counter(h for h in (urlsplit(u).hostname for u in urls) if h not in TILES)


def _shot(page, name: str) -> None:
    page.wait_for_timeout(800)  # let late requests (favicons, fonts, tiles of a zoom) be made and recorded
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_tile_servers_are_the_base_layers():
    assert TILES == {"data.geopf.fr", "tile.openstreetmap.org"}


def test_app_config_sends_no_usage_statistics():
    """Streamlit's usage statistics would make every visitor's browser call Streamlit's servers."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False


def test_public_app_pages_request_only_the_chosen_tiles(recorded, app_url):
    page = recorded
    page.goto(f"{app_url}/")
    frame = page.wait_for_selector('iframe[title^="Carte interactive"]', timeout=90_000).content_frame()
    wait_for_markers(frame, timeout=60_000)
    page.get_by_role("link", name="Statistiques").wait_for()  # the navigation, with its icons, is drawn
    _shot(page, "securite-carte")

    page.goto(f"{app_url}/statistiques")
    frame = page.wait_for_selector('iframe[title^="Carte choroplèthe"]', timeout=90_000).content_frame()
    frame.wait_for_selector(".csti-choro-legend", timeout=60_000)
    _shot(page, "securite-statistiques")

    page.goto(f"{app_url}/couverture")
    page.get_by_text(re.compile(r"^\d+ acteurs comptés$")).wait_for(timeout=180_000)
    frame = page.wait_for_selector('iframe[title*="folium"]', timeout=90_000).content_frame()
    frame.wait_for_selector(".leaflet-container", timeout=60_000)
    _shot(page, "securite-couverture")

    assert _third_parties(page.outside) == Counter(), page.outside
    # The check sees outside requests: the map asked for its default tiles, which were refused and counted.
    assert any(urlsplit(u).hostname in TILES for u in page.outside)
    favicon = page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\").href")
    assert favicon.startswith(("data:", app_url)), favicon


def test_static_site_requests_only_the_chosen_tiles(recorded, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "geodata", "publish", "-o", str(site)], cwd=ROOT, check=True, capture_output=True)
    with serve(site) as base:
        recorded.goto(f"{base}/index.html")
        wait_for_markers(recorded, timeout=60_000)
        _shot(recorded, "securite-site")
    assert _third_parties(recorded.outside) == Counter(), recorded.outside
    assert any(urlsplit(u).hostname in TILES for u in recorded.outside)
