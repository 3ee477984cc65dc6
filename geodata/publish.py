"""Static publication of the public map: one folder (HTML, GeoJSON, assets) any web server can host."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cartography.actors_map import actors_map, map_html, placed_mask
from cartography.assets import install_assets
from cartography.base import communes_outlines_geojson
from cartography.escape import escape_text
from geodata.actors import public_columns
from geodata.errors import GeodataError
from geodata.spreadsheet import neutralise_frame

TITLE = "Carte de la culture scientifique en Occitanie"
#: Characters that make a spreadsheet read a cell as a formula (CSV injection).


@dataclass
class Publication:
    directory: Path
    files: list[Path]
    actors: int
    placed: int


def public_actors(actors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The actors with public columns only (never contact names, e-mails or phones); unplaced ones get a null geometry."""
    public = actors[public_columns(actors.columns)].copy()
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


def csv_bytes(table: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM, ``;``) safe to open in a spreadsheet: cells starting like a formula are quoted with ``'``."""
    safe = neutralise_frame(table)
    buf = io.StringIO()
    safe.to_csv(buf, sep=";", index=False, quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue().encode("utf-8-sig")


def publish_site(out_dir, actors: gpd.GeoDataFrame, departements: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, title: str = TITLE) -> Publication:
    """Write the static site into ``out_dir``: ``index.html``, ``acteurs.geojson``, ``acteurs.csv``, ``communes.geojson``, ``vendor/``.

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
    m.get_root().title = escape_text(title)
    files = [out / "index.html", out / "acteurs.geojson", out / "acteurs.csv", out / "communes.geojson"]
    files[0].write_text(map_html(m), encoding="utf-8")
    files[1].write_text(public.to_json(drop_id=True, na="null", ensure_ascii=False), encoding="utf-8")
    files[2].write_bytes(csv_bytes(public_table(public)))
    files[3].write_text(communes_outlines_geojson(communes), encoding="utf-8")
    placed = int(placed_mask(public).sum())
    return Publication(out, files, len(public), placed)
