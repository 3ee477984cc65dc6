"""Map assets served by the app itself, taken from package registries at install time (no CDN, nothing committed).

Leaflet and Leaflet.markercluster come from their ``xstatic`` PyPI packages; ``supercluster`` (the
clustering index of the public map) and ``axe-core`` (accessibility checks of the browser tests) from
the npm registry, as tarballs pinned by version and integrity hash, downloaded once into a cache.
The public map's own client (``cartography/client/``) is copied beside them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from xstatic.pkg import leaflet, leaflet_markercluster

from geodata.errors import GeodataError

ROOT = Path(__file__).resolve().parents[1]
#: Streamlit serves ``static/`` (server.enableStaticServing) under ``/app/static``.
STATIC_DIR = ROOT / "static" / "vendor"
STREAMLIT_PREFIX = "/app/static/vendor"
#: Downloaded npm tarballs, checked against their integrity hash before use (ignored by git).
NPM_CACHE = ROOT / "build" / "npm"
#: The public map's client: HTML, JavaScript and CSS files (see cartography.actors_map).
CLIENT_DIR = Path(__file__).resolve().parent / "client"

_PACKAGES = {"leaflet": leaflet, "markercluster": leaflet_markercluster}


@dataclass(frozen=True)
class NpmPackage:
    """One file of a package of the npm registry, pinned by version and tarball integrity (SRI, sha512)."""

    name: str
    version: str
    integrity: str
    file: str

    @property
    def tarball_url(self) -> str:
        return f"https://registry.npmjs.org/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


NPM = {
    "supercluster": NpmPackage("supercluster", "8.0.1", "sha512-IiOea5kJ9iqzD2t7QJq/cREyLHTtSmUT6gQsweojg9WH2sYJqZK9SswTu6jrscO6D1G5v5vYZ9ru/eq85lXeZQ==",
                               "dist/supercluster.min.js"),
    "axe-core": NpmPackage("axe-core", "4.14.1", "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
                           "axe.min.js"),
}
#: npm packages the map needs at run time (axe-core is for the tests only).
NPM_RUNTIME = ("supercluster",)

#: (folium name, file) of every script and stylesheet a folium map needs.
JS = [("leaflet", "leaflet/leaflet.js"), ("markercluster", "markercluster/leaflet.markercluster.js")]
CSS = [
    ("leaflet_css", "leaflet/leaflet.css"),
    ("markercluster_css", "markercluster/MarkerCluster.css"),
    ("markercluster_default_css", "markercluster/MarkerCluster.Default.css"),
]


def integrity_of(data: bytes) -> str:
    """Subresource-integrity string (``sha512-…``) of ``data``, as the npm registry gives it."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def npm_file(key: str, *, cache: Path = NPM_CACHE, fetch=None) -> bytes:
    """The pinned file of npm package ``key``: from the cached tarball, downloaded first when absent.

    The tarball is checked against its integrity hash before any byte of it is read; a mismatch is
    refused (and the bad download not kept).
    """
    pkg = NPM[key]
    tgz = cache / f"{pkg.name.replace('/', '_')}-{pkg.version}.tgz"
    if tgz.exists():
        data = tgz.read_bytes()
    else:
        if fetch is None:
            from geodata._http import fetch_bytes as fetch
        data = fetch(pkg.tarball_url)
    if integrity_of(data) != pkg.integrity:
        tgz.unlink(missing_ok=True)
        raise GeodataError(
            f"L'archive npm {pkg.name}@{pkg.version} n'a pas l'empreinte attendue ({pkg.integrity[:20]}…) : "
            "elle est refusée. Relancez l'installation (python3 tasks.py test) pour la télécharger à nouveau."
        )
    if not tgz.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tgz.with_suffix(".part").write_bytes(data)
        tgz.with_suffix(".part").replace(tgz)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile(f"package/{pkg.file}")
        if member is None:
            raise GeodataError(f"L'archive npm {pkg.name}@{pkg.version} ne contient pas {pkg.file!r}.")
        return member.read()


def versions() -> dict[str, str]:
    out = {name: pkg.VERSION for name, pkg in _PACKAGES.items()}
    out.update({key: NPM[key].version for key in NPM_RUNTIME})
    return out


def install_assets(dest: Path = STATIC_DIR) -> Path:
    """Copy the packaged assets and the map client to ``dest`` (idempotent; recopied when a version changes).

    The client files are copied at every call (they are small and change with the code).
    """
    stamp = dest / ".versions"
    wanted = repr(sorted(versions().items()))
    if not (stamp.exists() and stamp.read_text() == wanted):
        for name, pkg in _PACKAGES.items():
            target = dest / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(pkg.BASE_DIR, target, ignore=shutil.ignore_patterns("*.map", "*.esm.js", "*-src.js"))
        for key in NPM_RUNTIME:
            data = npm_file(key)
            (dest / key).mkdir(parents=True, exist_ok=True)
            (dest / key / Path(NPM[key].file).name).write_bytes(data)
        stamp.write_text(wanted)
    client = dest / "client"
    client.mkdir(parents=True, exist_ok=True)
    for f in CLIENT_DIR.iterdir():
        if f.suffix in (".js", ".css"):
            shutil.copyfile(f, client / f.name)
    return dest


def asset_urls(prefix: str = STREAMLIT_PREFIX) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(js, css) lists in folium's ``default_js``/``default_css`` shape, under ``prefix``."""
    prefix = prefix.rstrip("/")
    return [(n, f"{prefix}/{f}") for n, f in JS], [(n, f"{prefix}/{f}") for n, f in CSS]
