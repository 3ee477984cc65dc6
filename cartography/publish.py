"""Static publication of the public map: one folder (HTML, GeoJSON, assets) any web server can host."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd

from cartography.actors_map import actors_page, client_config, places_payload
from cartography.assets import CLIENT_DIR, STREAMLIT_PREFIX, install_assets
from cartography.base import BASE_LAYERS, communes_outlines_geojson
from geodata.actors import placed_mask, public_columns
from geodata.errors import GeodataError
from geodata.settings import Settings, get_settings
from geodata.writers import write_csv, write_geojson

TITLE = "Carte de la culture scientifique en Occitanie"
#: The map client's files, copied beside the page (the page runs no inline script: its data block is JSON, never executed).
SCRIPT_FILE = "carte.js"
#: The map's data engine: a Web Worker started by carte.js, also loaded by the page as a plain script (its decoder).
ENGINE_FILE = "carte-worker.js"
STYLE_FILE = "carte.css"
#: The one-line notice of every public surface when the directory shown is the embedded sample.
SAMPLE_NOTE = "Données d'exemple : {n} lieux publics de culture scientifique, pas l'annuaire du réseau"


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


def sample_note(actors, settings: Settings | None = None) -> str:
    """The sample notice (:data:`SAMPLE_NOTE`) when the directory shown is the embedded sample, else ``""``."""
    from geodata.directory import SAMPLE_FILE, directory_source

    token = directory_source(settings)[1]
    return SAMPLE_NOTE.format(n=len(actors)) if token.startswith(f"file:{SAMPLE_FILE}:") else ""


def content_security_policy() -> str:
    """The static site's Content-Security-Policy: its own files only, plus the tile servers for images.

    Scripts and stylesheets come from the site itself ('self'); the page has no inline script or
    style block (the data block is ``application/json``, which the browser never executes). Style
    *attributes* stay allowed ('unsafe-inline' in ``style-src-attr`` only): Leaflet positions its
    tiles and markers with ``style="…"``, and CSS runs no script. Images: the site, ``data:`` and the
    tile servers of :data:`cartography.base.BASE_LAYERS`; the page fetches only its own files
    (``connect-src 'self'``).
    """
    tiles = sorted({f"{u.scheme}://{u.netloc}" for u in (urlsplit(url) for _, url, _ in BASE_LAYERS.values() if url)})
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        " ".join(["img-src 'self' data:", *tiles]),
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def write_map_page(folder: Path, actors: gpd.GeoDataFrame, reference, *, token: str, settings: Settings | None = None) -> str:
    """Write the app's map page (the same client as the site) into ``folder``; returns its file name.

    The name carries a hash of ``token`` (the directory's version), so a browser never shows a stale
    directory; older pages of the folder are removed. Written atomically: a visitor never reads half a page.
    """
    settings = settings or get_settings()
    public = public_actors(actors)
    config = client_config(mode="app", communes_url=f"{STREAMLIT_PREFIX}/geo/communes.geojson", report_email=settings.report_email,
                           note=sample_note(public, settings))
    page = actors_page(public, reference.departements, config=config, places=places_payload(reference.communes, reference.codes_postaux))
    name = f"carte-{hashlib.sha256(token.encode('utf-8')).hexdigest()[:16]}.html"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.part"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(folder / name)
    for old in folder.glob("carte-*.html"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return name


def publish_site(
    out_dir,
    actors: gpd.GeoDataFrame,
    departements: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    title: str = TITLE,
    codes_postaux: pd.DataFrame | None = None,
    note: str = "",
    settings: Settings | None = None,
) -> Publication:
    """Write the static site into ``out_dir``: ``index.html``, ``carte.js``, ``carte.css``, ``acteurs.geojson``, ``acteurs.csv``, ``communes.geojson``, ``vendor/``.

    The page needs no server-side code and no CDN; serve the folder as is and embed it with an
    ``<iframe>``. Only public fields are written.

    Parameters
    ----------
    out_dir : path
        Target folder (created; files of a previous publication are overwritten).
    actors : GeoDataFrame
        The directory, as returned by :func:`geodata.directory.load_directory`.
    departements, communes : GeoDataFrame
        Reference geography (outlines; communes are also the places of the search box).
    codes_postaux : DataFrame, optional
        ``code_postal``/``code_insee`` links, so the search box finds postcodes too.
    note : str
        One-line notice shown on the map (see :func:`sample_note`).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GeodataError(f"Impossible de créer le dossier de publication {str(out)!r} : {exc}. Choisissez un dossier accessible en écriture.") from exc
    settings = settings or get_settings()
    public = public_actors(actors)
    install_assets(out / "vendor")
    config = client_config(mode="site", communes_url="communes.geojson", report_email=settings.report_email, note=note)
    page = actors_page(public, departements, config=config, places=places_payload(communes, codes_postaux), vendor="vendor", client="",
                       title=title, csp=content_security_policy())
    files = [out / "index.html", out / "acteurs.geojson", out / "acteurs.csv", out / "communes.geojson", out / SCRIPT_FILE, out / ENGINE_FILE, out / STYLE_FILE]
    files[0].write_text(page, encoding="utf-8")
    for f in (SCRIPT_FILE, ENGINE_FILE, STYLE_FILE):
        shutil.copyfile(CLIENT_DIR / f, out / f)
    # Written piece by piece: at 200,000 actors the whole collection as Python objects held more than the rest of the publication.
    write_geojson(files[1], public)
    write_csv(files[2], public_table(public))
    files[3].write_text(communes_outlines_geojson(communes), encoding="utf-8")
    placed = int(placed_mask(public).sum())
    return Publication(out, files, len(public), placed)
