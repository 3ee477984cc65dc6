"""Benchmark rows of the public map at 1,406 and 50,000 actors, each beside the naive one-``folium.Marker``-per-actor map."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import tempfile
import threading
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium import plugins

from benchmarks import Row, fmt_bytes, fmt_s, measure
from cartography.actors_map import actors_page, client_config, map_html
from cartography.assets import asset_urls, install_assets
from cartography.base import base_map
from cartography.escape import escape_text, link_html
from geodata.reference import CRS_STORAGE

SIZES = (1_406, 50_000)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
#: A marker or a cluster icon, for both maps.
MARKER_SELECTOR = ".marker-cluster, .leaflet-marker-icon"


def synthetic_actors(actors: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, n: int, *, seed: int = 0, unique_names: bool = False) -> gpd.GeoDataFrame:
    """``n`` actors resampled from ``actors``, each moved to a random point inside a random commune polygon.

    Communes are drawn with probability proportional to population plus one, so the synthetic
    directory clusters around towns like a real one. Names repeat (resampled) unless ``unique_names``.
    """
    rng = np.random.default_rng(seed)
    rows = actors.iloc[rng.integers(0, len(actors), n)].reset_index(drop=True)
    weights = communes["population"].fillna(0).to_numpy(dtype=float) + 1.0
    picks = rng.choice(len(communes), size=n, p=weights / weights.sum())
    geoms = communes.geometry.to_numpy()[picks]
    bounds = shapely.bounds(geoms)
    xs, ys = np.empty(n), np.empty(n)
    todo = np.arange(n)
    while todo.size:
        b = bounds[todo]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[todo], x, y)
        xs[todo[inside]], ys[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    out = gpd.GeoDataFrame(rows.drop(columns="geometry"), geometry=gpd.points_from_xy(xs, ys), crs=CRS_STORAGE)
    names = communes["nom"].to_numpy()[picks]
    out["commune_lieu"] = names
    out["code_insee_lieu"] = communes["code_insee"].to_numpy()[picks]
    out["code_departement"] = communes["code_departement"].to_numpy()[picks]
    if unique_names:
        out["nom"] = [f"{name} n° {i}" for i, name in enumerate(out["nom"])]
    return out


_JQUERY_STANDIN = """<script>window.$ = function (html) {
  var t = document.createElement('template'); t.innerHTML = String(html).trim(); return [t.content.firstChild]; };</script>"""


def naive_map(actors: gpd.GeoDataFrame, departements: gpd.GeoDataFrame, *, prefix: str) -> folium.Map:
    """The usual folium recipe: one ``folium.Marker`` with popup and tooltip per actor, in a ``MarkerCluster``.

    Same base map (tiles, outlines, local assets) as the public map, so only the actor layer differs.
    """
    m = base_map(departements, prefix=prefix)
    # folium's popups call jQuery's $(html)[0], normally from a CDN: a two-line stand-in keeps the page offline.
    m.get_root().header.add_child(folium.Element(_JQUERY_STANDIN), name="jquery_standin")
    cluster = plugins.MarkerCluster()
    js, css = asset_urls(prefix)
    cluster.default_js = [(n, u) for n, u in js if n == "markercluster"]
    cluster.default_css = [(n, u) for n, u in css if n != "leaflet_css"]
    cluster.add_to(m)
    for row in actors.itertuples():
        popup = f"<b>{escape_text(row.nom)}</b><br>{escape_text(row.type_structure)}<br>{escape_text(row.commune_lieu)}<br>{link_html(row.site_web, 'Site web')}"
        folium.Marker((row.geometry.y, row.geometry.x), popup=folium.Popup(popup, max_width=300), tooltip=escape_text(row.nom)).add_to(cluster)
    return m


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def browser_times(urls: list[str], *, timeout_s: float = 240) -> list[float | None]:
    """Seconds from navigation start until the first marker or cluster is in the page, per URL (None: timed out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    probe = (
        "new MutationObserver(function (_, obs) {"
        f"  if (document.querySelector('{MARKER_SELECTOR}')) {{ window.__firstMarker = performance.now(); obs.disconnect(); }}"
        "}).observe(document, {childList: true, subtree: true});"
    )
    out: list[float | None] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for url in urls:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1") else route.abort())
            page.add_init_script(probe)
            try:
                page.goto(url, timeout=timeout_s * 1000, wait_until="commit")
                page.wait_for_function("window.__firstMarker !== undefined", timeout=timeout_s * 1000, polling=50)
                out.append(page.evaluate("window.__firstMarker") / 1000)
            except PlaywrightTimeout:
                out.append(None)
            page.close()
        browser.close()
    return out


def _page(actors: gpd.GeoDataFrame, departements: gpd.GeoDataFrame) -> str:
    """The public map's page as the static site writes it, with the assets under ``vendor/``."""
    return actors_page(actors, departements, config=client_config(mode="site"), vendor="vendor", client="vendor/client")


def _ratio(naive: float | None, ours: float | None) -> str:
    if not naive or not ours:
        return ""
    r = naive / ours
    return f"rapport naïf/nous {r:.0f}" if r >= 10 else f"rapport naïf/nous {r:.1f}"


def rows(ctx: dict) -> list[Row]:
    from geodata.directory import load_directory
    from geodata.reference import load_reference

    ref = ctx.get("reference") or load_reference()
    sample = load_directory(reference=ref)
    sizes = (1_406, 5_000) if ctx.get("quick") else SIZES
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        install_assets(root / "vendor")
        pages: list[tuple[int, str, str]] = []
        for n in sizes:
            actors = synthetic_actors(sample, ref.communes, n)
            _page(actors, ref.departements)  # warm the outline cache, as the app does
            html, ours, _ = measure(lambda a=actors: _page(a, ref.departements), repeat=3)
            naive_html, naive, _ = measure(lambda a=actors: map_html(naive_map(a, ref.departements, prefix="vendor")))
            (root / f"carte-{n}.html").write_text(html, encoding="utf-8")
            (root / f"naif-{n}.html").write_text(naive_html, encoding="utf-8")
            size, naive_size = len(html.encode()), len(naive_html.encode())
            target_t, target_s = ("≤ 0,3 s", "≤ 2 Mo") if n == 50_000 else ("", "")
            out.append(Row("carte", f"construction carte + HTML, {n} acteurs", fmt_s(ours), target_t, f"naïf (folium.Marker) {fmt_s(naive)} ; {_ratio(naive, ours)}"))
            out.append(Row("carte", f"taille du HTML, {n} acteurs", fmt_bytes(size), target_s, f"naïf {fmt_bytes(naive_size)} ; {_ratio(naive_size, size)}"))
            pages.append((n, f"carte-{n}.html", f"naif-{n}.html"))
            del naive_html
        # Resampled names repeat, and each distinct string is sent once: the worst case has every name different.
        n = sizes[-1]
        unique = synthetic_actors(sample, ref.communes, n, unique_names=True)
        html, t_unique, _ = measure(lambda: _page(unique, ref.departements), repeat=3)
        (root / f"carte-{n}-uniques.html").write_text(html, encoding="utf-8")
        out.append(Row("carte", f"taille du HTML, {n} acteurs aux noms tous différents", fmt_bytes(len(html.encode())), "≤ 2 Mo",
                       f"construction {fmt_s(t_unique)} ; pire cas (les tailles ci-dessus rééchantillonnent 124 noms ; "
                       "noms, communes et résumés voyagent compressés en gzip)"))
        if not CHROMIUM.exists():
            for n, _, _ in pages:
                out.append(Row("carte", f"navigateur : premiers marqueurs, {n} acteurs", "n/a", "≤ 2 s" if n == 50_000 else "", "Chromium absent (/usr/bin/chromium)"))
            return out
        with serve(root) as base:
            for n, ours_page, naive_page in pages:
                times = browser_times([f"{base}/{ours_page}", f"{base}/{naive_page}"])
                ours_t, naive_t = times
                value = fmt_s(ours_t) if ours_t is not None else "délai dépassé"
                naive_txt = fmt_s(naive_t) if naive_t is not None else "délai dépassé (240 s)"
                out.append(Row("carte", f"navigateur : premiers marqueurs, {n} acteurs", value, "≤ 2 s" if n == 50_000 else "",
                               f"naïf {naive_txt} ; {_ratio(naive_t, ours_t)} ; Chromium headless, HTTP local"))
            (unique_t,) = browser_times([f"{base}/carte-{n}-uniques.html"])
            out.append(Row("carte", f"navigateur : premiers marqueurs, {n} acteurs aux noms tous différents",
                           fmt_s(unique_t) if unique_t is not None else "délai dépassé", "≤ 2 s" if n == 50_000 else "",
                           "décompression gzip native (DecompressionStream) comprise"))
    shutil.rmtree(root, ignore_errors=True)
    return out
