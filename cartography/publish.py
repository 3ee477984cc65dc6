"""Static publication of the public map: one folder (HTML, GeoJSON, assets) any web server can host."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd

from cartography.actors_map import actors_map, map_parts
from cartography.assets import install_assets
from cartography.base import BASE_LAYERS, communes_outlines_geojson
from cartography.escape import escape_text
from geodata.actors import placed_mask, public_columns
from geodata.errors import GeodataError
from geodata.writers import csv_bytes, to_geojson, write_bytes

TITLE = "Carte de la culture scientifique en Occitanie"
#: The map's script, with the actors' data: a file of the site, so the page runs no inline script but the header's.
SCRIPT_FILE = "carte.js"

_PAGE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{title}</title>
{header}
</head>
<body>
{body}
<script src="{script}"></script>
</body>
</html>
"""


@dataclass
class Publication:
    directory: Path
    files: list[Path]
    actors: int
    placed: int


def public_actors(actors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The actors with the columns of :data:`geodata.actors.PUBLIC_FIELDS` only; unplaced ones get a null geometry."""
    public = actors[public_columns(actors.columns, geometry=actors.geometry.name)].copy()
    public.loc[~placed_mask(public), public.geometry.name] = None
    return public


def public_table(actors: gpd.GeoDataFrame) -> pd.DataFrame:
    """Public columns as a flat table with ``longitude``/``latitude`` from the placed point, no geometry."""
    public = public_actors(actors)
    table = pd.DataFrame(public.drop(columns=public.geometry.name))
    placed = placed_mask(public)
    xs, ys = pd.Series(float("nan"), index=public.index), pd.Series(float("nan"), index=public.index)
    xs[placed], ys[placed] = public.geometry[placed].x, public.geometry[placed].y
    table["longitude"], table["latitude"] = xs.round(6), ys.round(6)
    return table


def _hashes(tag: str, header: str) -> list[str]:
    """CSP hash sources of the inline ``<tag>`` blocks of ``header`` (written by code: folium's map, our styles)."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", header, flags=re.DOTALL)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode('utf-8')).digest()).decode('ascii')}'" for b in blocks]


def content_security_policy(header: str) -> str:
    """The static site's Content-Security-Policy: its own files, the header's inline blocks by hash, the tile servers.

    Scripts and stylesheets come from the site itself ('self'); the map's script, which carries the
    data, is a file of the site (:data:`SCRIPT_FILE`), so no inline script runs but the few fixed
    blocks of the header, allowed by their SHA-256 (computed at each publication, the map's element
    ids being random). Style *attributes* stay allowed ('unsafe-inline' in ``style-src-attr`` only):
    Leaflet's markers and our legends are HTML snippets with ``style="…"``, and CSS runs no script.
    Images: the site, ``data:`` and the tile servers of :data:`cartography.base.BASE_LAYERS`; the page
    fetches only its own files (``connect-src 'self'``).
    """
    tiles = sorted({f"{u.scheme}://{u.netloc}" for u in (urlsplit(url) for _, url, _ in BASE_LAYERS.values() if url)})
    return "; ".join([
        "default-src 'none'",
        " ".join(["script-src 'self'", *_hashes("script", header)]),
        " ".join(["style-src 'self'", *_hashes("style", header)]),
        "style-src-attr 'unsafe-inline'",
        " ".join(["img-src 'self' data:", *tiles]),
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def site_page(m, *, title: str) -> tuple[str, str]:
    """``(index.html, carte.js)`` of a map: the page with its Content-Security-Policy, and the map's script."""
    header, body, script = map_parts(m)
    page = _PAGE.format(csp=escape_text(content_security_policy(header)), title=escape_text(title), header=header, body=body, script=SCRIPT_FILE)
    return page, script


def publish_site(out_dir, actors: gpd.GeoDataFrame, departements: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, title: str = TITLE) -> Publication:
    """Write the static site into ``out_dir``: ``index.html``, ``carte.js``, ``acteurs.geojson``, ``acteurs.csv``, ``communes.geojson``, ``vendor/``.

    The page needs no server-side code and no CDN; serve the folder as is and embed it with an
    ``<iframe>``. Only public fields are written.

    Parameters
    ----------
    out_dir : path
        Target folder (created; files of a previous publication are overwritten).
    actors : GeoDataFrame
        The directory, as returned by :func:`geodata.directory.load_directory`.
    departements, communes : GeoDataFrame
        Reference geography (outlines).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GeodataError(f"Impossible de créer le dossier de publication {str(out)!r} : {exc}. Choisissez un dossier accessible en écriture.") from exc
    public = public_actors(actors)
    install_assets(out / "vendor")
    m = actors_map(public, departements, prefix="vendor", controls=True, communes_url="communes.geojson", permalink="hash", data_url="acteurs.geojson")
    page, script = site_page(m, title=title)
    files = [out / "index.html", out / "acteurs.geojson", out / "acteurs.csv", out / "communes.geojson", out / SCRIPT_FILE]
    files[0].write_text(page, encoding="utf-8")
    files[4].write_text(script, encoding="utf-8")
    write_bytes(files[1], to_geojson(public))
    write_bytes(files[2], csv_bytes(public_table(public)))
    files[3].write_text(communes_outlines_geojson(communes), encoding="utf-8")
    placed = int(placed_mask(public).sum())
    return Publication(out, files, len(public), placed)
