"""Benchmark of exports: 50,000 actors to GeoJSON, GeoPackage and CSV (target: 2 s each)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from benchmarks import Row, fmt_bytes, fmt_s, measure
from geodata.actors import FIELD_NAMES
from geodata.directory import SAMPLE_FILE
from geodata.export import actors_layer, export_layers
from geodata.reference import CRS_STORAGE, OCCITANIE_BBOX


def synthetic_actors(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` actors: the sample's rows repeated with new ids, private contacts filled, scattered over Occitanie."""
    sample = pd.read_csv(SAMPLE_FILE, dtype=str, keep_default_na=False)
    for name in FIELD_NAMES:
        if name not in sample.columns:
            sample[name] = ""
    reps = sample.iloc[np.arange(n) % len(sample)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    reps["id"] = [f"bench-{i:06d}" for i in range(n)]
    reps["contact_nom"] = "Personne Contact"
    reps["contact_email"] = [f"contact{i}@exemple.fr" for i in range(n)]
    reps["contact_telephone"] = "05 61 00 00 00"
    west, south, east, north = OCCITANIE_BBOX
    lon, lat = rng.uniform(west, east, n), rng.uniform(south, north, n)
    reps["longitude"], reps["latitude"] = lon.round(6).astype(str), lat.round(6).astype(str)
    return gpd.GeoDataFrame(reps[list(FIELD_NAMES)], geometry=gpd.points_from_xy(lon, lat), crs=CRS_STORAGE)


def rows(ctx) -> list[Row]:
    n = 5_000 if ctx.get("quick") else 50_000
    actors = synthetic_actors(n)
    out = []
    for fmt in ("geojson", "gpkg", "csv"):
        def run(fmt=fmt):
            return export_layers({"acteurs": actors_layer(actors)}, fmt, private=False)

        result, seconds, peak = measure(run, repeat=2)
        out.append(Row("export", f"{n:,} acteurs → {fmt} (public)".replace(",", "\u202f"), fmt_s(seconds), "≤ 2 s" if n == 50_000 else "",
                       f"{fmt_bytes(len(result.data))}, pic {peak:.0f} Mio"))
    return out


if __name__ == "__main__":  # pragma: no cover
    pd.set_option("display.width", 200)
    for r in rows({"quick": False}):
        print(r)
