"""Benchmark rows of the public map: beside the naive one-``folium.Marker``-per-actor map (1,406 and 50,000 actors), and
beside folium's ``FastMarkerCluster`` with popups at 50,000 and 200,000 actors with realistic, all-different names."""

from __future__ import annotations

import contextlib
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium import plugins

from benchmarks import Row, fmt_bytes, fmt_s, measure
from cartography.actors_map import actors_page, client_config, map_html, places_payload
from cartography.assets import asset_urls, install_assets
from cartography.base import base_map
from cartography.escape import escape_text, link_html
from geodata.reference import CRS_STORAGE
from tasks import chromium_args

SIZES = (1_406, 50_000)
CHROMIUM = Path("/usr/bin/chromium")
#: Nothing but the loopback server is reachable: other hosts are not found, without routing every request through
#: Playwright (which, ten visitors at once, made the benchmark's own process a relay for every file of every page).
CHROMIUM_ARGS = chromium_args("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
#: A marker or a cluster icon, for both maps.
MARKER_SELECTOR = ".marker-cluster, .leaflet-marker-icon"


def synthetic_actors(
    actors: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, n: int, *, seed: int = 0, unique_names: bool = False, realistic: bool = False
) -> gpd.GeoDataFrame:
    """``n`` actors resampled from ``actors``, each moved to a random point inside a random commune polygon.

    Communes are drawn with probability proportional to population plus one, so the synthetic
    directory clusters around towns like a real one. Names repeat (resampled) unless ``unique_names``
    (realistic names, all different); ``realistic`` also gives 60 % of the actors a summary of their
    own and 30 % a web site of their own, as the issue's benchmark asks.
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
    if unique_names or realistic:
        out["nom"] = realistic_names(names, rng)
    if realistic:
        # As in the survey: 60 % of the actors have a summary, 30 % a web site (each one different).
        has_summary = rng.random(n) < 0.6
        out["presentation_resume"] = [f"{_SUMMARIES[j % len(_SUMMARIES)]} à {c} (fiche {j})" if keep else ""
                                      for j, (c, keep) in enumerate(zip(names, has_summary))]
        has_site = rng.random(n) < 0.3
        out["site_web"] = [f"https://www.acteur-{j}.example.org/" if keep else "" for j, keep in enumerate(has_site)]
    return out


_KINDS = ("Association", "Club", "Fab Lab", "Médiathèque", "Musée", "Laboratoire", "Centre", "Atelier", "Maison", "Observatoire",
          "Collectif", "Espace", "Conservatoire", "Station", "Jardin")
_TOPICS = ("d'astronomie", "des sciences", "de géologie", "du numérique", "de robotique", "de la nature", "de préhistoire", "de botanique",
           "de la mer", "des énergies", "de chimie", "du patrimoine industriel", "de biodiversité", "des mathématiques", "de l'espace",
           "d'archéologie", "de physique", "des insectes", "de l'eau", "des volcans")
_SUMMARIES = ("Ateliers, conférences et sorties de terrain pour tous les publics", "Animations scientifiques pour les scolaires et les familles",
              "Expositions, visites guidées et rencontres avec des chercheurs", "Lieu de fabrication numérique ouvert au public",
              "Observations, stages et clubs de jeunes")


def realistic_names(communes, rng) -> list[str]:
    """Names like a real directory's ("Club d'astronomie de Figeac"), all different (a second one gets a qualifier)."""
    kinds = rng.integers(0, len(_KINDS), len(communes))
    topics = rng.integers(0, len(_TOPICS), len(communes))
    seen: dict[str, int] = {}
    out = []
    for k, t, c in zip(kinds, topics, communes):
        name = f"{_KINDS[k]} {_TOPICS[t]} – {c}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
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


def fast_cluster_map(actors: gpd.GeoDataFrame, departements: gpd.GeoDataFrame, *, prefix: str) -> folium.Map:
    """folium's fast path: ``FastMarkerCluster`` with a popup per actor (name, type, commune; built with textContent, lazily).

    Its default callback needs ``L.AwesomeMarkers`` from a CDN (a blank map offline): a plain ``L.marker`` callback instead.
    """
    m = base_map(departements, prefix=prefix)
    callback = """function (row) {
      var marker = L.marker(new L.LatLng(row[0], row[1]));
      marker.bindPopup(function () {
        var d = document.createElement('div'), b = document.createElement('b');
        b.textContent = row[2]; d.appendChild(b); d.appendChild(document.createTextNode(' – ' + row[3] + ', ' + row[4]));
        return d;
      });
      return marker;
    }"""
    data = [[round(g.y, 5), round(g.x, 5), str(nm), str(ty), str(co)]
            for g, nm, ty, co in zip(actors.geometry, actors["nom"], actors["type_structure"], actors["commune_lieu"])]
    cluster = plugins.FastMarkerCluster(data, callback=callback)
    js, css = asset_urls(prefix)
    cluster.default_js = [(n, u) for n, u in js if n == "markercluster"]
    cluster.default_css = [(n, u) for n, u in css if n != "leaflet_css"]
    cluster.add_to(m)
    return m


#: Records the first marker or cluster in the page, the longest main-thread task, and keeps them in window.__bench.
_PROBE = (
    "window.__bench = {longest: 0};"
    "new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { window.__bench.longest = Math.max(window.__bench.longest, e.duration); }); })"
    ".observe({type: 'longtask', buffered: true});"
    "new MutationObserver(function (_, obs) {"
    f"  if (document.querySelector('{MARKER_SELECTOR}')) {{ window.__bench.first = performance.now(); obs.disconnect(); }}"
    "}).observe(document, {childList: true, subtree: true});"
)


def _worker_heaps(browser, *, collect: bool = False) -> int:
    """Bytes used by the JavaScript heaps of the page's workers (objects and typed arrays' storage), read over CDP.

    With ``collect``, each worker's garbage is collected first (what it really holds, not what it has not yet freed).
    """
    import json
    import time

    cdp = browser.new_browser_cdp_session()
    answers: list[dict] = []
    cdp.on("Target.receivedMessageFromTarget", lambda e: answers.append(json.loads(e["message"])))
    asked = 0
    for target in cdp.send("Target.getTargets")["targetInfos"]:
        if target["type"] == "worker":
            session = cdp.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": False})["sessionId"]
            if collect:
                cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps({"id": 0, "method": "HeapProfiler.collectGarbage"})})
            cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": json.dumps({"id": 1, "method": "Runtime.getHeapUsage"})})
            asked += 1
    deadline = time.monotonic() + 10
    while sum(1 for a in answers if a.get("id") == 1) < asked and time.monotonic() < deadline:
        cdp.send("Target.getTargets")  # lets the session deliver its events
        time.sleep(0.05)
    used = [a["result"] for a in answers if a.get("id") == 1]
    return sum(r["usedSize"] + r.get("backingStorageSize", 0) for r in used)


def browser_metrics(url: str, *, timeout_s: float = 240) -> dict | None:
    """First markers (s), longest main-thread task (s, until 2 s after them) and JS heap (bytes) of a page; None on timeout.

    The heap is the page's (``performance.memory``) plus its workers' (objects and typed arrays, over CDP): a map
    that moves its data into a Web Worker is charged for it.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.add_init_script(_PROBE)
        try:
            page.goto(url, timeout=timeout_s * 1000, wait_until="commit")
            page.wait_for_function("window.__bench.first !== undefined", timeout=timeout_s * 1000, polling=50)
            page.wait_for_timeout(2000)
            got = page.evaluate("() => ({first: window.__bench.first / 1000, longest: window.__bench.longest / 1000, heap: performance.memory.usedJSHeapSize})")
            got["worker_heap"] = _worker_heaps(browser)
            got["heap"] += got["worker_heap"]
            # The same after a forced garbage collection of the page and its workers: what the page really holds.
            session = page.context.new_cdp_session(page)
            session.send("HeapProfiler.collectGarbage")
            main = session.send("Runtime.getHeapUsage")
            got["live_heap"] = main["usedSize"] + main.get("backingStorageSize", 0) + _worker_heaps(browser, collect=True)
        except PlaywrightTimeout:
            got = None
        browser.close()
    return got


def _longest(seconds: float) -> str:
    """The longest main-thread task: the browser reports only those of 50 ms or more."""
    return fmt_s(seconds) if seconds > 0 else "< 50 ms"


def _vs(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return ""
    return f"FastMarkerCluster/nous {theirs / ours:.1f}"


def scale_rows(sample: gpd.GeoDataFrame, ref, root: Path, sizes=(50_000, 200_000)) -> list[Row]:
    """Ours beside FastMarkerCluster (same run, same actors with realistic all-different names): bytes, build, browser."""
    out: list[Row] = []
    targets = {50_000: {"bytes": "≤ 1,2 Mo", "build": "≤ 0,3 s", "first": "≤ 1 s", "task": "≤ 200 ms"},
               200_000: {"first": "≤ 2,5 s", "heap": "≤ 200 Mo", "task": "≤ 200 ms"}}
    for n in sizes:
        actors = synthetic_actors(sample, ref.communes, n, realistic=True, seed=1)
        distinct = actors["nom"].nunique() / n
        # The page as publish writes it (places of the search box included), timed without tracemalloc (which
        # slows Python several-fold): best of two runs at 50,000, one at 200,000, the same for both maps.
        repeat = 2 if n <= 50_000 else 1
        html, ours_t = _timed(lambda a=actors: _site_page(a, ref), repeat)
        fast_html, fast_t = _timed(lambda a=actors: map_html(fast_cluster_map(a, ref.departements, prefix="vendor")), repeat)
        (root / f"carte-{n}-reel.html").write_text(html, encoding="utf-8")
        (root / f"fast-{n}.html").write_text(fast_html, encoding="utf-8")
        ours_raw, fast_raw = len(html.encode()), len(fast_html.encode())
        ours_gz, fast_gz = len(gzip.compress(html.encode(), 6)), len(gzip.compress(fast_html.encode(), 6))
        t = targets.get(n, {})
        out.append(Row("carte", f"page transférée sans compression HTTP, {n} acteurs aux noms réalistes", fmt_bytes(ours_raw), t.get("bytes", ""),
                       f"{ours_raw / 1e6:.2f} Mo ; noms distincts {distinct:.0%} ; FastMarkerCluster {fmt_bytes(fast_raw)} ; {_vs(ours_raw, fast_raw)}"))
        out.append(Row("carte", f"page transférée avec gzip HTTP, {n} acteurs", fmt_bytes(ours_gz), t.get("bytes", ""),
                       f"{ours_gz / 1e6:.2f} Mo ; FastMarkerCluster {fmt_bytes(fast_gz)} ; {_vs(ours_gz, fast_gz)}"))
        out.append(Row("carte", f"construction de la page (lieux de recherche compris), {n} acteurs", fmt_s(ours_t), t.get("build", ""),
                       f"FastMarkerCluster {fmt_s(fast_t)} ; {_vs(ours_t, fast_t)} ; meilleure de {repeat} sans tracemalloc"))
        del fast_html, html
        if not CHROMIUM.exists():
            continue
        with serve(root) as base:
            ours, fast = browser_metrics(f"{base}/carte-{n}-reel.html"), browser_metrics(f"{base}/fast-{n}.html")
        if ours is None:
            out.append(Row("carte", f"navigateur, {n} acteurs", "délai dépassé", t.get("first", "")))
            continue
        fast = fast or {}
        out.append(Row("carte", f"navigateur : premiers marqueurs, {n} acteurs", fmt_s(ours["first"]), t.get("first", ""),
                       f"FastMarkerCluster {fmt_s(fast['first']) if fast else 'délai dépassé'} ; {_vs(ours['first'], fast.get('first'))}"))
        out.append(Row("carte", f"navigateur : plus longue tâche, {n} acteurs", _longest(ours["longest"]), t.get("task", ""),
                       f"FastMarkerCluster {_longest(fast['longest']) if fast else '—'} ; tâches longues du navigateur (50 ms ou plus), "
                       "du chargement à 2 s après les premiers marqueurs"))
        out.append(Row("carte", f"navigateur : tas JavaScript (page + worker), {n} acteurs", fmt_bytes(ours["heap"]), t.get("heap", ""),
                       f"dont worker {fmt_bytes(ours['worker_heap'])} ; après ramasse-miettes forcé {fmt_bytes(ours['live_heap'])} "
                       f"(FastMarkerCluster {fmt_bytes(fast['live_heap']) if fast else '—'}) ; FastMarkerCluster {fmt_bytes(fast['heap']) if fast else '—'} ; "
                       f"{_vs(ours['heap'], fast.get('heap'))}"))
    return out


_SERVER = """
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP (no compression: the bytes sent are the files') on a free loopback port; yields the base URL.

    The server runs in its own process, so that it never waits for this one's interpreter lock while the
    browser is driven from here (it did, and every script of the pages then took hundreds of milliseconds to arrive).
    """
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(directory)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def browser_times(urls: list[str], *, timeout_s: float = 240) -> list[float | None]:
    """Seconds from navigation start until the first marker or cluster is in the page, per URL (None: timed out)."""
    return [m["first"] if m else None for m in (browser_metrics(u, timeout_s=timeout_s) for u in urls)]


def _timed(fn, repeat: int):
    """(result, best seconds of ``repeat`` runs), nothing traced."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return result, best


def _site_page(actors: gpd.GeoDataFrame, ref) -> str:
    """The static site's page as ``publish`` builds it: places of the search box, outlines, actors."""
    places = places_payload(ref.communes, ref.codes_postaux)
    return actors_page(actors, ref.departements, config=client_config(mode="site"), places=places, vendor="vendor", client="vendor/client")


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
        out.extend(scale_rows(sample, ref, root, sizes=(5_000,) if ctx.get("quick") else (50_000, 200_000)))
    shutil.rmtree(root, ignore_errors=True)
    return out
