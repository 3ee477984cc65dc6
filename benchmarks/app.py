"""Benchmark rows of the Streamlit app's Carte page with 50,000 actors and of ``python -m geodata publish`` with 200,000.

The app runs as users meet it: ``streamlit run app.py`` on a free loopback port, the directory a file
(``CSTI_ACTORS_FILE``) of actors with realistic, all-different names (60 % with a summary, 30 % with a
web site, see :func:`benchmarks.maps.synthetic_actors`), visited by headless Chromium. Measured: bytes
received over Streamlit's websocket per visit, first markers in the map's frame (cold: the first visit
places and writes the directory; warm: the next ones), a filter change (and whether it sent anything
to the server), ten visitors at once, and the server's memory (``VmHWM``, the kernel's high-water mark
of resident memory, of the server process and its children; ``VmRSS`` sampled during the visits).

Ten visitors at once are measured twice. Ten Chromium contexts on the benchmark's machine share its
cores with the server, so their time is mostly the browsers' (their CPU is reported beside it). Real
visitors each have their own device: one browser visits while nine others are played at the protocol
level (HTTP and Streamlit's websocket, :func:`_protocol_visit`), so only the server is shared.
``publish`` runs as a subprocess; its peak is the child's ``ru_maxrss`` (``os.wait4``), for a first run
(directory placed and cached) and a second one (directory read from the cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from benchmarks import Row, fmt_bytes, fmt_s
from benchmarks.maps import CHROMIUM, CHROMIUM_ARGS, MARKER_SELECTOR, synthetic_actors
from geodata.actors import FIELD_NAMES
from geodata.writers import csv_bytes, write_bytes

ROOT = Path(__file__).resolve().parents[1]
APP_SIZE = 50_000
PUBLISH_SIZE = 200_000
VISITORS = 10
#: The map's frame on the Carte page.
MAP_IFRAME = 'iframe[title^="Carte interactive"]'

#: In every frame: the wall-clock time (ms since the epoch) the first marker or cluster appeared.
_PROBE = (
    "window.__bench = {};"
    "new MutationObserver(function (_, obs) {"
    f"  if (document.querySelector('{MARKER_SELECTOR}')) {{ window.__bench.first = performance.timeOrigin + performance.now(); obs.disconnect(); }}"
    "}).observe(document, {childList: true, subtree: true});"
)

#: In the map's frame: tick the first type of the filters and time until the map shows the new selection, painted.
_FILTER_JS = """async () => {
  const box = document.querySelector('#csti-types input[type=checkbox]');
  const map = document.querySelector('#csti-map');
  const before = map.getAttribute('data-csti-shown');
  const t0 = performance.now();
  box.click();
  while (map.getAttribute('data-csti-shown') === before) { await new Promise(r => requestAnimationFrame(r)); }
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return {seconds: (performance.now() - t0) / 1000, before: +before, after: +map.getAttribute('data-csti-shown')};
}"""


# -- the directory file ---------------------------------------------------------------------------------------------


def directory_file(path: Path, n: int, *, seed: int = 1) -> Path:
    """Write a directory of ``n`` actors (schema columns, placed by their coordinates) as users would give it to ``CSTI_ACTORS_FILE``."""
    from geodata.directory import load_directory
    from geodata.reference import load_reference

    ref = load_reference()
    actors = synthetic_actors(load_directory(reference=ref), ref.communes, n, realistic=True, seed=seed)
    table = pd.DataFrame({name: actors[name] if name in actors else "" for name in FIELD_NAMES})
    table["id"] = [f"bench-{j:06d}" for j in range(n)]
    # Declared where they were drawn (the coordinates decide the place; a declared postcode would disagree).
    table["commune"], table["code_insee"], table["code_postal"] = actors["commune_lieu"], actors["code_insee_lieu"], ""
    table["latitude"] = actors.geometry.y.round(6).astype(str)
    table["longitude"] = actors.geometry.x.round(6).astype(str)
    for private in ("contact_nom", "contact_email", "contact_telephone"):
        table[private] = ""
    return write_bytes(path, csv_bytes(table.fillna("").astype(str)))


def bench_env(root: Path, actors_file: Path) -> dict[str, str]:
    """Environment of a run on ``actors_file``: a cache and a data folder of its own (the reference cache copied in, not rebuilt)."""
    from geodata.settings import get_settings

    cache = root / "cache"
    source = Path(get_settings().cache_dir)
    for folder in ("reference", "decoupage-administratif"):
        if (source / folder).is_dir() and not (cache / folder).exists():
            shutil.copytree(source / folder, cache / folder)
    return {**os.environ, "CSTI_CACHE_DIR": str(cache), "CSTI_DATA_DIR": str(root / "data"), "CSTI_OFFLINE": "1", "CSTI_ACTORS_FILE": str(actors_file)}


# -- memory of a process tree ---------------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
    return out


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def tree_memory(pid: int, key: str = "VmHWM") -> int:
    """Bytes of ``key`` (``VmHWM`` or ``VmRSS``) summed over ``pid`` and its descendants."""
    return 1024 * sum(_status_kib(p, key) for p in _tree(pid))


def browsers_cpu() -> float:
    """CPU seconds used so far by this process's descendants (Playwright's driver and the Chromium it started), this process excluded."""
    own = os.times()
    return tree_cpu(os.getpid()) - (own.user + own.system + own.children_user + own.children_system)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by ``pid`` and its descendants."""
    ticks = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime (fields 14 to 17 of proc(5)): a child that has exited and been
            # waited for (a closed browser tab's renderer) is counted in its parent's cutime and cstime.
            ticks += sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """The largest ``VmRSS`` of a process tree, sampled every 100 ms while active."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_memory(self.pid, "VmRSS"))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# -- the app -------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_app(root: Path, env: dict[str, str]):
    """``streamlit run app.py`` on a free loopback port, as the browser tests start it; yields (process, base URL)."""
    from tests.browser.conftest import start_app, stop

    proc, url = start_app(root, env)
    try:
        yield proc, url
    finally:
        stop(proc)


async def _visit(browser, url: str, *, timeout_s: float, filter_change: bool = False) -> dict:
    """One visitor in a context of its own: websocket bytes, first markers (s from navigation start), optionally a filter change."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="fr-FR")
    await context.add_init_script(_PROBE)
    page = await context.new_page()
    got = {"ws_in": 0, "ws_out": 0, "frames_out": 0, "urls": []}
    page.on("request", lambda r: got["urls"].append(r.url) if r.method == "GET" and r.url.startswith("http://127.0.0.1") else None)

    def on_ws(ws):
        def received(payload):
            got["ws_in"] += len(payload)

        def sent(payload):
            got["ws_out"] += len(payload)
            got["frames_out"] += 1

        ws.on("framereceived", received)
        ws.on("framesent", sent)

    page.on("websocket", on_ws)
    try:
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        handle = await page.wait_for_selector(MAP_IFRAME, timeout=timeout_s * 1000)
        frame = await handle.content_frame()
        while frame is None or frame.url in ("", "about:blank"):
            await asyncio.sleep(0.05)
            frame = await handle.content_frame()
        await frame.wait_for_function("() => window.__bench && window.__bench.first !== undefined", timeout=timeout_s * 1000, polling=50)
        start = await page.evaluate("() => performance.timeOrigin")
        got["first"] = (await frame.evaluate("() => window.__bench.first") - start) / 1000
        # Where the time went: Streamlit's page up to the frame (page, websocket, script run), the map's page downloaded, the client.
        origin, loaded = await frame.evaluate("() => [performance.timeOrigin, performance.getEntriesByType('navigation')[0].responseEnd]")
        got["frame"], got["loaded"] = (origin - start) / 1000, (origin + loaded - start) / 1000
        await frame.wait_for_selector("html[data-csti-ready]", state="attached", timeout=timeout_s * 1000)
        await page.wait_for_timeout(1500)  # whatever the page still exchanges with the server after the map is up
        if filter_change:
            before = got["frames_out"]
            got["filter"] = await frame.evaluate(_FILTER_JS)
            await page.wait_for_timeout(1000)
            got["filter"]["frames_out"] = got["frames_out"] - before
    except Exception as exc:  # noqa: BLE001 - a timeout or a crash is a row, not the end of the benchmark
        got["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        await context.close()
    return got


async def _visits(url: str, *, timeout_s: float, server_cpu) -> dict:
    """A first visit, three more one after the other (the last changes a filter), then :data:`VISITORS` at once; server CPU of each phase."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            cpu, client = [server_cpu()], [browsers_cpu()]
            cold = await _visit(browser, url, timeout_s=timeout_s * 4)
            cpu.append(server_cpu())
            client.append(browsers_cpu())
            warm = [await _visit(browser, url, timeout_s=timeout_s, filter_change=(k == 2)) for k in range(3)]
            cpu.append(server_cpu())
            client.append(browsers_cpu())
            crowd = await asyncio.gather(*(_visit(browser, url, timeout_s=timeout_s * 2) for _ in range(VISITORS)))
            cpu.append(server_cpu())
            client.append(browsers_cpu())
            urls = [u for u in warm[0]["urls"] if "/_stcore/" not in u]
            mixed = await _mixed_crowd(browser, url, urls, timeout_s=timeout_s * 2)
            cpu.append(server_cpu())
        finally:
            await browser.close()
    return {"cold": cold, "warm": warm, "crowd": list(crowd), "mixed": mixed, "cpu": [b - a for a, b in zip(cpu, cpu[1:])],
            "client_cpu": [b - a for a, b in zip(client, client[1:])]}


def _fetch(url: str) -> int:
    """Bytes of one loopback GET, gzip accepted as a browser does."""
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})  # noqa: S310 - loopback URLs recorded from a visit
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        return len(response.read())


async def _protocol_visit(base: str, urls: list[str], *, timeout_s: float, connections: int = 6) -> float:
    """A visitor played at the protocol level, without a browser: seconds until the server has served a whole visit.

    As a browser does: the page and Streamlit's files over HTTP (``connections`` at once), the websocket
    (``/_stcore/stream``, the ``streamlit`` subprotocol) with one ``rerun_script`` message, waiting for the
    script's ``script_finished``, then the map's page and its files. Nothing is rendered: the time is the server's.
    """
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    sem = asyncio.Semaphore(connections)

    async def get(url: str) -> int:
        async with sem:
            return await asyncio.to_thread(_fetch, url)

    shell = [u for u in urls if "/app/static/" not in u]
    frame = [u for u in urls if "/app/static/" in u]
    t0 = time.perf_counter()
    await asyncio.gather(*(get(u) for u in shell))
    ws_url = base.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
    async with websockets.connect(ws_url, subprotocols=["streamlit"], origin=base.rstrip("/"), max_size=None, open_timeout=timeout_s) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = ""
        ask.rerun_script.page_script_hash = ""
        await ws.send(ask.SerializeToString())
        async with asyncio.timeout(timeout_s):
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await ws.recv())
                if msg.WhichOneof("type") == "script_finished":
                    break
        await asyncio.gather(*(get(u) for u in frame))
    return time.perf_counter() - t0


async def _mixed_crowd(browser, url: str, urls: list[str], *, timeout_s: float) -> dict:
    """One browser visit and ``VISITORS - 1`` protocol visitors (:func:`_protocol_visit`), all at once."""
    visit = _visit(browser, url, timeout_s=timeout_s)
    others = [_protocol_visit(url, urls, timeout_s=timeout_s) for _ in range(VISITORS - 1)]
    got, *served = await asyncio.gather(visit, *others, return_exceptions=True)
    if isinstance(got, BaseException):
        got = {"error": f"{type(got).__name__}: {got}"}
    errors = [s for s in served if isinstance(s, BaseException)]
    got["served"] = [s for s in served if not isinstance(s, BaseException)]
    got["served_errors"] = [f"{type(e).__name__}: {str(e)[:120]}" for e in errors]
    return got


def replay(urls: list[str], visitors: int, *, connections: int = 6) -> tuple[list[float], int]:
    """The HTTP requests of one browser visit, replayed by ``visitors`` clients at once (``connections`` each, gzip accepted).

    Only the server works here (no page is rendered): seconds until each client has every response, and the bytes received.
    """
    from concurrent.futures import ThreadPoolExecutor

    def visitor(_) -> tuple[float, int]:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(connections) as pool:
            size = sum(pool.map(_fetch, urls))
        return time.perf_counter() - t0, size

    with ThreadPoolExecutor(visitors) as pool:
        done = list(pool.map(visitor, range(visitors)))
    return [t for t, _ in done], sum(b for _, b in done)


def _split(v: dict) -> str:
    """Where a visit's time to first markers went (see :func:`_visit`)."""
    if "first" not in v:
        return "—"
    return (f"Streamlit jusqu'au cadre {fmt_s(v['frame'])}, page de la carte téléchargée {fmt_s(v['loaded'] - v['frame'])}, "
            f"client (carte.js) {fmt_s(v['first'] - v['loaded'])}")


def _first(v: dict) -> str:
    return fmt_s(v["first"]) if "first" in v else v.get("error", "—")


def app_rows(root: Path, n: int = APP_SIZE, *, timeout_s: float = 60) -> list[Row]:
    """The Carte page with ``n`` actors, visited by headless Chromium (see the module's docstring)."""
    out: list[Row] = []
    if not CHROMIUM.exists():
        return [Row("app", f"Carte, {n} acteurs", "n/a", "", "Chromium absent (/usr/bin/chromium)")]
    actors_file = directory_file(root / f"acteurs-{n}.csv", n)
    env = bench_env(root, actors_file)
    with running_app(root, env) as (proc, url):
        idle = tree_memory(proc.pid, "VmRSS")
        with RssSampler(proc.pid) as sampler:
            got = asyncio.run(_visits(f"{url}/", timeout_s=timeout_s, server_cpu=lambda: tree_cpu(proc.pid)))
            urls = [u for u in got["warm"][0]["urls"] if "/_stcore/" not in u]
            cpu0 = tree_cpu(proc.pid)
            served, served_bytes = replay(urls, VISITORS)
            served_cpu = tree_cpu(proc.pid) - cpu0
        hwm = tree_memory(proc.pid, "VmHWM")
        rss_end = tree_memory(proc.pid, "VmRSS")
    cold, warm, crowd = got["cold"], got["warm"], got["crowd"]
    ok_warm = [v for v in warm if "first" in v]
    best = min(ok_warm, key=lambda v: v["first"]) if ok_warm else warm[0]
    out.append(Row("app", f"Carte : premiers marqueurs, 1re visite (annuaire placé et page écrite), {n} acteurs", _first(cold), "",
                   "serveur à froid : lecture, géocodage hors ligne et enrichissement du fichier compris"))
    out.append(Row("app", f"Carte : premiers marqueurs, visite suivante, {n} acteurs", _first(best), "≤ 2 s",
                   f"meilleure de {len(warm)} ; toutes : {', '.join(_first(v) for v in warm)} ; {_split(best)} ; "
                   f"CPU du serveur {got['cpu'][1] / len(warm):.2f} s par visite"))
    out.append(Row("app", f"Carte : octets du websocket par visite, {n} acteurs", fmt_bytes(best["ws_in"] + best["ws_out"]), "≤ 2,5 Mo",
                   f"reçus {fmt_bytes(best['ws_in'])}, envoyés {fmt_bytes(best['ws_out'])} ; la page de la carte passe par HTTP (fichier statique)"))
    flt = warm[-1].get("filter")
    if flt:
        rerun = "aucun message envoyé au serveur" if flt["frames_out"] == 0 else f"{flt['frames_out']} message(s) envoyé(s) au serveur : relance ?"
        out.append(Row("app", f"Carte : changement de filtre, {n} acteurs", fmt_s(flt["seconds"]), "≤ 0,3 s",
                       f"{flt['before']} → {flt['after']} acteurs ; {rerun} ; entièrement dans le navigateur (carte.js)"))
    else:
        out.append(Row("app", f"Carte : changement de filtre, {n} acteurs", warm[-1].get("error", "—"), "≤ 0,3 s"))
    firsts = [v["first"] for v in crowd if "first" in v]
    failed = len(crowd) - len(firsts)
    value = fmt_s(max(firsts)) if firsts and not failed else f"{failed} échec(s)"
    out.append(Row("app", f"Carte : {VISITORS} visiteurs simultanés, premiers marqueurs (le plus lent)", value, "≤ 5 s",
                   f"le plus rapide {fmt_s(min(firsts)) if firsts else '—'} ; médiane {fmt_s(sorted(firsts)[len(firsts) // 2]) if firsts else '—'} ; "
                   f"le plus lent : {_split(max((v for v in crowd if 'first' in v), key=lambda v: v['first'], default={}))} ; "
                   f"CPU du serveur {got['cpu'][2]:.1f} s pour les {VISITORS} (navigateurs et serveur sur la même machine)"
                   + (f" ; {next(v['error'] for v in crowd if 'error' in v)}" if failed else "")))
    crowd_cpu, cores = got["client_cpu"][2], os.cpu_count() or 1
    per_core = (crowd_cpu + got["cpu"][2]) / cores  # CPU the phase asked of each core
    alone = got["client_cpu"][1] / len(warm)  # browser CPU of one whole visit, nothing else running
    out[-1].note += (
        f" ; CPU des navigateurs {crowd_cpu:.1f} s ({crowd_cpu / VISITORS:.1f} s par visite entière) : navigateurs et serveur demandent "
        f"≈ {fmt_s(per_core)} à chacun des {cores} cœurs de cette machine ; une visite seule, sans rien d'autre, demande déjà "
        f"{alone:.1f} s de CPU à son navigateur (Streamlit et la carte) : {VISITORS} visites comme elle, ≈ {fmt_s(VISITORS * alone / cores)} "
        f"à chacun des {cores} cœurs ; le temps des visiteurs simultanés est ici celui des navigateurs")
    mixed = got["mixed"]
    protocol = mixed.get("served", [])
    if "first" in mixed and protocol and not mixed["served_errors"]:
        value = fmt_s(max(mixed["first"], max(protocol)))
        remark = (f"le navigateur : premiers marqueurs {fmt_s(mixed['first'])} ({_split(mixed)}) ; les {len(protocol)} autres servis "
                  f"en {fmt_s(min(protocol))} à {fmt_s(max(protocol))} (page, fichiers de Streamlit, websocket jusqu'à la fin du script, page de la carte) ; "
                  f"CPU du serveur {got['cpu'][3]:.1f} s ; chaque visiteur réel a son propre appareil : seul le serveur est partagé")
    else:
        value = "échec"
        remark = mixed.get("error", "") or "; ".join(mixed.get("served_errors", []))
    out.append(Row("app", f"Carte : {VISITORS} visiteurs simultanés, 1 navigateur et {VISITORS - 1} visiteurs joués au niveau du protocole (le plus lent)",
                   value, "≤ 5 s", remark))
    out.append(Row("app", f"serveur seul : {VISITORS} visites simultanées rejouées en HTTP, la plus lente", fmt_s(max(served)), "",
                   f"{len(urls)} requêtes par visite (celles du navigateur, websocket exclu), {fmt_bytes(served_bytes / VISITORS)} par visite ; "
                   f"CPU du serveur {served_cpu:.1f} s ; ce que les navigateurs ajoutent au temps des visiteurs simultanés est de leur côté"))
    out.append(Row("app", "serveur : mémoire résidente maximale (VmHWM, processus et enfants)", fmt_bytes(hwm), "≤ 600 Mo",
                   f"au repos avant la 1re visite {fmt_bytes(idle)} ; VmRSS échantillonné max {fmt_bytes(sampler.peak)}, à la fin {fmt_bytes(rss_end)}"))
    return out


# -- publish -------------------------------------------------------------------------------------------------------


def _publish(env: dict[str, str], out_dir: Path, log: Path) -> tuple[float, int, int]:
    """Seconds, peak resident bytes (the child's ``ru_maxrss``) and exit status of one ``python -m geodata publish``."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "geodata", "publish", "-o", str(out_dir)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss * 1024, proc.returncode


def publish_rows(root: Path, n: int = PUBLISH_SIZE) -> list[Row]:
    actors_file = directory_file(root / f"acteurs-{n}.csv", n)
    env = bench_env(root, actors_file)
    out = []
    for run, label in ((1, "1re publication (annuaire placé puis mis en cache)"), (2, "publication suivante (annuaire lu du cache)")):
        log = root / f"publish-{run}.log"
        seconds, peak, code = _publish(env, root / f"site-{run}", log)
        if code:
            out.append(Row("publish", f"{label}, {n} acteurs", f"échec ({code})", "", log.read_text()[-200:].replace("\n", " ")))
            continue
        html = (root / f"site-{run}" / "index.html").stat().st_size
        out.append(Row("publish", f"pic de mémoire résidente, {label}, {n} acteurs", fmt_bytes(peak), "≤ 1 Go",
                       f"durée {fmt_s(seconds)} ; index.html {fmt_bytes(html)} ; ru_maxrss du sous-processus"))
    return out


def rows(ctx: dict) -> list[Row]:
    quick = ctx.get("quick")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = app_rows(root / "app", 5_000 if quick else APP_SIZE)
        out += publish_rows(root / "publish", 10_000 if quick else PUBLISH_SIZE)
    return out


if __name__ == "__main__":  # pragma: no cover
    from benchmarks import print_table

    print_table(rows({"quick": "--quick" in sys.argv}))
