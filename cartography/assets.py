"""Leaflet and plugin assets served by the app itself, taken from PyPI packages at install time (no CDN)."""

from __future__ import annotations

import shutil
from pathlib import Path

from xstatic.pkg import leaflet, leaflet_markercluster

ROOT = Path(__file__).resolve().parents[1]
#: Streamlit serves ``static/`` (server.enableStaticServing) under ``/app/static``.
STATIC_DIR = ROOT / "static" / "vendor"
STREAMLIT_PREFIX = "/app/static/vendor"

_PACKAGES = {"leaflet": leaflet, "markercluster": leaflet_markercluster}

#: (folium name, file) of every script and stylesheet a map needs.
JS = [("leaflet", "leaflet/leaflet.js"), ("markercluster", "markercluster/leaflet.markercluster.js")]
CSS = [
    ("leaflet_css", "leaflet/leaflet.css"),
    ("markercluster_css", "markercluster/MarkerCluster.css"),
    ("markercluster_default_css", "markercluster/MarkerCluster.Default.css"),
]


def versions() -> dict[str, str]:
    return {name: pkg.VERSION for name, pkg in _PACKAGES.items()}


def install_assets(dest: Path = STATIC_DIR) -> Path:
    """Copy the packaged assets to ``dest`` (idempotent; recopied when a package version changes)."""
    stamp = dest / ".versions"
    wanted = repr(sorted(versions().items()))
    if stamp.exists() and stamp.read_text() == wanted:
        return dest
    for name, pkg in _PACKAGES.items():
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(pkg.BASE_DIR, target, ignore=shutil.ignore_patterns("*.map", "*.esm.js", "*-src.js"))
    stamp.write_text(wanted)
    return dest


def asset_urls(prefix: str = STREAMLIT_PREFIX) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) lists in folium's ``default_js``/``default_css`` shape, under ``prefix``."""
    prefix = prefix.rstrip("/")
    return [(n, f"{prefix}/{f}") for n, f in JS], [(n, f"{prefix}/{f}") for n, f in CSS]
