"""Browser fixtures: Debian's Chromium through Playwright, the app on a free loopback port, the published site."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tasks import chromium_args, serve_command

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = chromium_args()
HOSTILE = ROOT / "tests" / "fixtures" / "hostile_actors.csv"
#: Screenshots go to build/screenshots (ignored by git); CSTI_DOCS_SCREENSHOTS=1 refreshes those of docs/ instead.
SCREENSHOTS = ROOT / ("docs" if os.environ.get("CSTI_DOCS_SCREENSHOTS") == "1" else "build/screenshots")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium absent (/usr/bin/chromium) : installez le paquet Debian « chromium » pour les tests navigateur.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page that can only reach 127.0.0.1 (tiles and anything else are refused), with dialogs recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    pg = context.new_page()
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("http://127.0.0.1", "file:", "data:", "about:")) else route.abort())
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def start_app(tmp_path: Path, extra_env: dict[str, str] | None = None):
    """Run ``streamlit run app.py`` from the worktree root; returns (process, base URL)."""
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "CSTI_CACHE_DIR": os.environ.get("CSTI_CACHE_DIR", str(tmp_path / "cache")),
        "CSTI_DATA_DIR": str(tmp_path / "data"),
        "CSTI_OFFLINE": "1",
        **(extra_env or {}),
    })
    log = open(tmp_path / f"streamlit-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        # The same launcher as `python3 tasks.py app`, with this interpreter.
        serve_command(["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                       "--browser.gatherUsageStats", "false"], python=sys.executable),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit s'est arrêté : {(tmp_path / f'streamlit-{port}.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit n'a pas démarré en 60 s")


def sign_in(page, url: str, password: str, user: str = "alice") -> None:
    """Open ``url`` (a staff page) and sign in with the page's login form; the caller waits for what it expects next."""
    page.goto(url)
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    proc, url = start_app(tmp_path_factory.mktemp("app"))
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def hostile_app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app_hostile")
    # The folder a template payload of the fixture would create if the server ran it (see tests/test_verbatim.py).
    canary = tmp / "canary"
    proc, url = start_app(tmp, {"CSTI_ACTORS_FILE": str(HOSTILE), "SSTI_CANARY": str(canary)})
    yield url
    stop(proc)
    assert not canary.exists(), "a template payload ran on the server"
