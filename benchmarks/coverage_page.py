"""Benchmark rows of the coverage page end to end: the app started on a 1,406- and a 50,000-actor directory, the page
opened in headless Chromium, the rural reach moved one step, timed from the key press to the new headline figures.

The directories come from the public map's generator (:func:`benchmarks.maps.synthetic_actors`, realistic names all
different); as in the embedded sample, most actors are placed only at their commune (figures are ranges) and the
others have coordinates of their own. Measured in the same run: the first figures after opening the page, the
rerun's end (the app's root no longer « running ») and whether « Calcul en cours… » showed.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import SHARED_DATA, Row, fmt_s
from benchmarks.maps import CHROMIUM, CHROMIUM_ARGS, synthetic_actors
from geodata import writers
from geodata.actors import FIELD_NAMES

SIZES = (1_406, 50_000)
QUICK_SIZES = (1_406,)
#: Share of actors placed only at their commune, as in the embedded sample (104 of 124).
COMMUNE_LEVEL_SHARE = 104 / 124
#: Reach changes measured per directory (one step of the slider each; the best and the median are reported).
CHANGES = 4
ROOT = Path(__file__).resolve().parents[1]
RURAL_PEOPLE = '[data-testid="stMetric"]:has-text("Habitants ruraux hors de portée") [data-testid="stMetricValue"]'
SLIDER = 'input[type="range"][aria-label="Portée pour les communes rurales (km)"]'
TARGETS = {1_406: "≤ 1 s", 50_000: "≤ 2 s"}

#: The spinner texts shown during a run (window.__spinner, reset before each change).
_SPINNER_PROBE = """window.__spinner = [];
new MutationObserver(() => {
  for (const s of document.querySelectorAll('[data-testid="stSpinner"]')) {
    const t = s.innerText.trim();
    if (t && !window.__spinner.includes(t)) window.__spinner.push(t);
  }
}).observe(document, {childList: true, subtree: true, characterData: true});"""
#: Every headline figure, in one string: a change of any of them is « new figures ».
_FIGURES = "() => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].map(e => e.innerText).join(' | ')"
_CHANGED = f"(before) => ({_FIGURES})() !== before"
#: The script run is over (the app's root says so; Streamlit's « Running » widget does not show in a headless page).
_IDLE = "() => document.querySelector('.stApp')?.getAttribute('data-test-script-state') === 'notRunning'"


def directory_file(sample, communes, n: int, path: Path, *, seed: int = 3) -> Path:
    """A survey-like CSV of ``n`` actors (realistic, all-different names); most at commune level, the rest with coordinates."""
    actors = synthetic_actors(sample, communes, n, seed=seed, realistic=True)
    rng = np.random.default_rng(seed)
    point = rng.random(n) >= COMMUNE_LEVEL_SHARE
    table = pd.DataFrame({name: (actors[name].astype(str) if name in actors.columns else "") for name in FIELD_NAMES})
    table["id"] = [f"banc-{i:06d}" for i in range(n)]
    table["commune"] = actors["commune_lieu"].astype(str).to_numpy()
    table["code_insee"] = actors["code_insee_lieu"].astype(str).to_numpy()
    table[["adresse", "complement_adresse", "code_postal", "latitude", "longitude", "source_position"]] = ""
    table.loc[point, "latitude"] = [f"{y:.6f}" for y in actors.geometry.y[point]]
    table.loc[point, "longitude"] = [f"{x:.6f}" for x in actors.geometry.x[point]]
    table.loc[point, "source_position"] = "banc d'essai (point tiré dans la commune)"
    writers.write_csv(path, table)  # the directory file as staff would give it
    return path


@contextlib.contextmanager
def app(env: dict[str, str], log: Path):
    """The app (``streamlit run app.py``, the launcher of ``tasks.py``) on a free loopback port; yields its URL."""
    import socket

    from tasks import serve_command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        proc = subprocess.Popen(serve_command(args, python=sys.executable), cwd=ROOT, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit n'a pas démarré : {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:  # noqa: S310 (loopback http URL built here)
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def page_timings(url: str, *, changes: int = CHANGES, timeout_s: float = 900) -> dict:
    """Open the coverage page, set the rural reach to 1 km, then move it ``changes`` steps of 0,5 km: seconds from each key
    press to new headline figures and to the rerun's end."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="fr-FR")
        page.add_init_script(_SPINNER_PROBE)
        t0 = time.perf_counter()
        page.goto(f"{url}/couverture", timeout=timeout_s * 1000)
        page.wait_for_selector(RURAL_PEOPLE, timeout=timeout_s * 1000)
        opened = time.perf_counter() - t0
        page.wait_for_function(_IDLE, timeout=timeout_s * 1000)
        thumb = page.locator(SLIDER)
        # From the shortest reach (1 km), where a dense directory still leaves gaps, so that each step changes the figures.
        thumb.focus()
        before = page.evaluate(_FIGURES)
        thumb.press("Home")
        page.wait_for_function(_CHANGED, arg=before, timeout=timeout_s * 1000, polling=50)
        page.wait_for_function(_IDLE, timeout=timeout_s * 1000)
        page.wait_for_timeout(1000)
        runs = []
        for _ in range(changes):
            before = page.evaluate(_FIGURES)
            page.evaluate("() => { window.__spinner = []; }")
            thumb.focus()
            t0 = time.perf_counter()
            thumb.press("ArrowRight")
            try:
                page.wait_for_function(_CHANGED, arg=before, timeout=120_000, polling=10)
                figure = time.perf_counter() - t0
            except PlaywrightTimeout:  # the step changed no figure (a dense directory): the rerun's end still counts
                figure = None
            page.wait_for_function(_IDLE, timeout=timeout_s * 1000, polling=10)
            done = time.perf_counter() - t0
            runs.append({"figure": figure, "done": done, "spinner": page.evaluate("() => window.__spinner"), "reach": thumb.input_value()})
            page.wait_for_timeout(1000)
        body = page.locator("body").inner_text()
        browser.close()
    return {"opened": opened, "runs": runs, "traceback": "Traceback" in body}


def _summary(values: list[float | None]) -> tuple[str, str]:
    known = [v for v in values if v is not None]
    if not known:
        return "délai dépassé", ""
    return fmt_s(min(known)), f"médiane {fmt_s(statistics.median(known))} sur {len(known)}"


def rows(ctx: dict) -> list[Row]:
    from geodata.directory import load_directory
    from geodata.reference import load_reference

    if not CHROMIUM.exists():
        return [Row("page couverture", "changement de portée, de bout en bout", "n/a", "≤ 1 s / ≤ 2 s", "Chromium absent (/usr/bin/chromium)")]
    ref = ctx.get("reference") or load_reference()
    sample = load_directory(reference=ref)
    env = {"CSTI_OFFLINE": "1"}
    qpv, pop = SHARED_DATA / "qpv_2015_hackaviz" / "qp.geojson", SHARED_DATA / "qpv_insee_2022" / "DEMO_2022.csv"
    if qpv.exists():
        env["CSTI_QPV_FILE"] = str(qpv)
        if pop.exists():
            env["CSTI_QPV_POPULATION_FILE"] = str(pop)
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # The embedded sample first (the issue measured 2,4 to 8,6 s per change on it), then the synthetic directories.
        cases: list[tuple[str, int, Path | None]] = [("annuaire d'exemple", len(sample), None)]
        for n in QUICK_SIZES if ctx.get("quick") else SIZES:
            cases.append((f"{_n(n)} acteurs", n, directory_file(sample, ref.communes, n, root / f"annuaire-{n}.csv")))
        for label, n, csv in cases:
            folders = {"CSTI_CACHE_DIR": str(root / f"cache-{n}"), "CSTI_DATA_DIR": str(root / f"data-{n}")}
            run_env = {**env, **folders, **({"CSTI_ACTORS_FILE": str(csv)} if csv else {})}
            with app(run_env, root / f"streamlit-{n}.log") as url:
                got = page_timings(url)
            runs = got["runs"]
            best, median = _summary([r["figure"] for r in runs])
            shown = sorted({t for r in runs for t in r["spinner"]})
            note = (f"{median} ; indicateurs vus pendant le calcul : {', '.join(shown) or 'aucun (calcul trop court)'} ; "
                    f"première ouverture de la page {fmt_s(got['opened'])} (placement de l'annuaire compris)"
                    f"{' ; ERREUR affichée' if got['traceback'] else ''}")
            out.append(Row("page couverture", f"portée rurale 1 → 3 km par pas de 0,5 km → nouveaux chiffres clés ({label})", best,
                           TARGETS.get(n, "") if csv else "", note))
            best, median = _summary([r["done"] for r in runs])
            out.append(Row("page couverture", f"portée rurale, un pas → page entière recalculée ({label})", best, "",
                           f"{median} ; carte et tableaux compris (fin de l'exécution Streamlit)"))
            out.append(_memory_row(ref, label, csv, env, folders))
    return out


def _n(n: int) -> str:
    from geodata import number_format

    return number_format.integer(n)


def _memory_row(ref, label: str, csv: Path | None, env: dict, folders: dict) -> Row:
    """In the same run: one analysis after a reach change, with what the Demand remembers (the page's case) and without."""
    import dataclasses

    from geodata import coverage as cv
    from geodata.actors import public_columns
    from geodata.directory import load_directory
    from geodata.settings import get_settings
    from geodata.territory import load_territory

    settings = dataclasses.replace(get_settings(), cache_dir=Path(folders["CSTI_CACHE_DIR"]), data_dir=Path(folders["CSTI_DATA_DIR"]),
                                   actors_file=str(csv) if csv else "", qpv_file=env.get("CSTI_QPV_FILE", ""),
                                   qpv_population_file=env.get("CSTI_QPV_POPULATION_FILE", ""))
    terr = load_territory(settings=settings)
    demand = cv.demand_from_territory(terr)
    actors = load_directory(settings=settings, territory=terr)  # placed by the app run: read from its disk cache
    actors = actors[public_columns(actors.columns) + [c for c in cv.ANALYSIS_COLUMNS if c in actors.columns]]
    reaches = (1.5, 2.0, 2.5, 3.0)
    cv.analyse(demand, actors, cv.Params(rural_reach_km=1.0))
    warm, cold = [], []
    for km in reaches:
        t0 = time.perf_counter()
        cv.analyse(demand, actors, cv.Params(rural_reach_km=km))
        warm.append(time.perf_counter() - t0)
        demand._derived.clear()
        t0 = time.perf_counter()
        cv.analyse(demand, actors, cv.Params(rural_reach_km=km))
        cold.append(time.perf_counter() - t0)
    w, c = statistics.median(warm), statistics.median(cold)
    return Row("page couverture", f"analyse() après un changement de portée ({label}), sans navigateur", fmt_s(w), "",
               f"sans la mémoire du Demand (tout recalculé) {fmt_s(c)} ; rapport {c / w:.1f} ; médianes sur {len(reaches)}")
