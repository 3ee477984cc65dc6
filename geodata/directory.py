"""The actor directory as the app shows it: read, placed on the map and joined to the territory.

Interim version (foundation): places actors at commune level from their INSEE code or commune
name. The directory issue replaces the placement with the full geocoding chain.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.actors import FIELD_NAMES, families
from geodata.settings import Settings, get_settings
from geodata.territory import CRS_STORAGE, Reference, communes_at, load_reference

SAMPLE_FILE = Path(__file__).resolve().parent / "data" / "acteurs_exemple.csv"


def _norm(text) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    for a, b in (("-", " "), ("'", " "), ("st ", "saint "), ("ste ", "sainte ")):
        text = text.replace(a, b)
    return " ".join(text.split())


def read_sample() -> pd.DataFrame:
    """The embedded sample directory (real, publicly known places; no personal data)."""
    df = pd.read_csv(SAMPLE_FILE, dtype=str, keep_default_na=False)
    for name in FIELD_NAMES:
        if name not in df.columns:
            df[name] = ""
    return df


def place_at_communes(actors: pd.DataFrame, ref: Reference) -> gpd.GeoDataFrame:
    """Place each actor: given coordinates, else its commune's representative point."""
    communes = ref.communes.set_index("code_insee")
    by_name = {}
    for code, name in zip(ref.communes["code_insee"], ref.communes["nom"]):
        by_name.setdefault(_norm(name), []).append(code)
    lon, lat, precision = [], [], []
    for _, row in actors.iterrows():
        try:
            x, y = float(str(row["longitude"]).replace(",", ".")), float(str(row["latitude"]).replace(",", "."))
            lon.append(x), lat.append(y), precision.append("provided")
            continue
        except ValueError:
            pass
        code = str(row["code_insee"]).strip()
        if code not in communes.index:
            candidates = by_name.get(_norm(row["commune"]), [])
            dep = str(row["code_postal"]).strip()[:2]
            candidates = [c for c in candidates if c.startswith(dep)] or candidates
            code = candidates[0] if candidates else None
        if code is None:
            lon.append(None), lat.append(None), precision.append("non localisé")
        else:
            lon.append(communes.at[code, "point_lon"]), lat.append(communes.at[code, "point_lat"]), precision.append("municipality")
    gdf = gpd.GeoDataFrame(actors.copy(), geometry=gpd.points_from_xy(lon, lat), crs=CRS_STORAGE)
    gdf["geocodage_precision"] = precision
    return gdf


def enrich(actors: gpd.GeoDataFrame, ref: Reference) -> gpd.GeoDataFrame:
    """Add the commune and department where each actor is placed, and its map family."""
    out = actors.copy()
    placed = out.geometry.notna() & ~out.geometry.is_empty
    codes = pd.Series(pd.NA, index=out.index, dtype="object")
    if placed.any():
        codes[placed] = communes_at(ref.communes, out.geometry[placed].x, out.geometry[placed].y).to_numpy()
    names = ref.communes.set_index("code_insee")["nom"]
    out["code_insee_lieu"] = codes
    out["commune_lieu"] = codes.map(names)
    out["code_departement"] = codes.str[:2]
    out["famille"] = families(out)
    return out


def load_directory(*, settings: Settings | None = None, reference: Reference | None = None) -> gpd.GeoDataFrame:
    """The directory shown by the app: ``CSTI_ACTORS_FILE`` or the embedded sample, placed and enriched."""
    settings = settings or get_settings()
    ref = reference or load_reference(settings=settings)
    if settings.actors_file:
        raw = pd.read_csv(settings.actors_file, dtype=str, keep_default_na=False)
        for name in FIELD_NAMES:
            if name not in raw.columns:
                raw[name] = ""
    else:
        raw = read_sample()
    return enrich(place_at_communes(raw, ref), ref)
