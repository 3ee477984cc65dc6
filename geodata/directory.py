"""The actor directory as the app shows it: read, placed on the map and joined to the territory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import corrections as corrections_mod
from geodata.actors import FIELD_NAMES, families
from geodata.geocoding import GeocodeCache, Progress, default_cache, geocode_actors
from geodata.importing import DECLARED_DEPARTMENT, ROW, ImportResult, import_actors
from geodata.reference import CRS_METRIC, CRS_STORAGE, Reference, communes_at
from geodata.region import declared_departments
from geodata.settings import Settings, get_settings
from geodata.territory import Territory, load_territory

SAMPLE_FILE = Path(__file__).resolve().parent / "data" / "acteurs_exemple.csv"
#: Definition of "rural" used for the ``rural`` column (the one every installation has).
DEFAULT_RURAL = "densite"
#: Bump when the placed directory changes shape, to invalidate its on-disk cache.
CACHE_VERSION = 2
#: Columns added to the schema fields by :func:`place_and_enrich`.
ENRICHED_COLUMNS = (
    "geocodage_source",
    "geocodage_precision",
    "geocodage_score",
    "geocodage_statut",
    "geocodage_motif",
    "geocodage_libelle",
    "code_insee_lieu",
    "commune_lieu",
    "code_departement",
    "code_epci",
    "nom_epci",
    "code_qp",
    "nom_qp",
    "distance_qpv_m",
    "rural",
    "classe_densite",
    "alerte_departement",
    "alerte_code_postal",
    "famille",
)


def read_sample() -> pd.DataFrame:
    """The embedded sample directory (real, publicly known places; no personal data)."""
    return import_actors(SAMPLE_FILE).actors


def read_actors(path=None, *, settings: Settings | None = None) -> ImportResult:
    """Read the directory file: ``path``, else ``CSTI_ACTORS_FILE``, else the embedded sample."""
    settings = settings or get_settings()
    source = path or settings.actors_file or SAMPLE_FILE
    return import_actors(source)


# -- enrichment ----------------------------------------------------------------------------------


def _qpv_columns(points: gpd.GeoSeries, qpv: gpd.GeoDataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame({"code_qp": pd.Series(pd.NA, index=points.index, dtype=object), "nom_qp": pd.Series(pd.NA, index=points.index, dtype=object),
                        "distance_qpv_m": pd.Series(np.nan, index=points.index, dtype=float)})
    placed = points.notna() & ~points.is_empty
    if qpv is None or qpv.empty or not placed.any():
        return out
    # Distances in metres: Lambert-93, never degrees.
    pts = gpd.GeoDataFrame(geometry=points[placed]).to_crs(CRS_METRIC)
    zones = qpv[["code_qp", "nom_qp", "geometry"]].to_crs(CRS_METRIC)
    near = gpd.sjoin_nearest(pts, zones, how="left", distance_col="distance_qpv_m")
    near = near[~near.index.duplicated(keep="first")]
    inside = near["distance_qpv_m"] <= 0
    out.loc[near.index, "distance_qpv_m"] = near["distance_qpv_m"].round(0).to_numpy()
    out.loc[near.index[inside], "code_qp"] = near.loc[inside, "code_qp"].to_numpy()
    out.loc[near.index[inside], "nom_qp"] = near.loc[inside, "nom_qp"].to_numpy()
    return out


def enrich(actors: gpd.GeoDataFrame, territory: Territory | Reference) -> gpd.GeoDataFrame:
    """Add where each actor is placed: commune, department, intercommunality (EPCI), QPV, rural class, disagreement flags, map family."""
    if isinstance(territory, Reference):
        from geodata import rural

        territory = Territory(territory, rural.rural_table(territory.communes), None, {"qpv": "non chargée"})
    ref = territory.reference
    out = actors.copy()
    geom = out.geometry
    placed = geom.notna() & ~geom.is_empty
    codes = pd.Series(pd.NA, index=out.index, dtype=object)
    if placed.any():
        codes[placed] = communes_at(ref.communes, geom[placed].x, geom[placed].y).to_numpy()
    names = ref.communes.set_index("code_insee")["nom"]
    out["code_insee_lieu"] = codes
    out["commune_lieu"] = codes.map(names)
    out["code_departement"] = codes.str[:2]
    epci = ref.communes.set_index("code_insee")
    out["code_epci"] = codes.map(epci["code_epci"])
    out["nom_epci"] = codes.map(epci["nom_epci"])
    qpv = _qpv_columns(geom, territory.qpv)
    for col in qpv.columns:
        out[col] = qpv[col]
    table = territory.rural.set_index("code_insee")
    rural_cols = [c for c in table.columns if c.startswith("rural_")]
    for col in rural_cols:
        out[col] = codes.map(table[col]).astype("boolean")
    out["rural"] = out[f"rural_{DEFAULT_RURAL}"] if f"rural_{DEFAULT_RURAL}" in out else pd.NA
    out["classe_densite"] = codes.map(table["classe_densite"]) if "classe_densite" in table else pd.NA
    # Disagreements between what the file declares and where the actor was placed.
    declared = declared_departments(out[DECLARED_DEPARTMENT], ref) if DECLARED_DEPARTMENT in out else pd.Series("", index=out.index)
    out["alerte_departement"] = (declared != "") & out["code_departement"].notna() & (declared != out["code_departement"].fillna(""))
    cp = out["code_postal"].astype(str).str.strip().str.zfill(5).where(out["code_postal"].astype(str).str.strip() != "", "") if "code_postal" in out else pd.Series("", index=out.index)
    served = set(zip(ref.codes_postaux["code_postal"], ref.codes_postaux["code_insee"]))
    known = set(ref.codes_postaux["code_postal"])
    is_known = cp.isin(known)
    pair_ok = pd.Series([(p, c) in served for p, c in zip(cp, codes.fillna(""))], index=out.index)
    # A CEDEX or BP code is not a postcode of the reference: compare its department only.
    dep_ok = cp.str[:2] == out["code_departement"].fillna("")
    out["alerte_code_postal"] = (cp != "") & codes.notna() & ((is_known & ~pair_ok) | (~is_known & ~dep_ok))
    out["famille"] = families(out)
    # One string dtype for text columns, whatever went through (stable across the parquet cache).
    for col in ("doublon_de", "geocodage_statut", "code_insee_lieu", "commune_lieu", "code_departement", "code_epci", "nom_epci", "code_qp", "nom_qp",
                "classe_densite", "famille"):
        if col in out:
            out[col] = out[col].astype("str")
    return out


def place_and_enrich(
    actors: pd.DataFrame,
    territory: Territory,
    *,
    settings: Settings | None = None,
    offline: bool = True,
    progress: Progress | None = None,
    client=None,
    cache: GeocodeCache | None = None,
    apply_manual: bool = True,
) -> gpd.GeoDataFrame:
    """Geocode actors, apply manual corrections, and enrich them; every input row is kept.

    Parameters
    ----------
    actors : DataFrame
        Mapped actors (schema fields), e.g. ``import_actors(...).actors``.
    territory : Territory
    offline : bool
        True (the app's default): cache and commune gazetteer only; False also asks the national service.
    apply_manual : bool
        Apply the corrections saved in ``settings.data_dir``.

    Returns
    -------
    GeoDataFrame in EPSG:4326: the input columns, geometry (``None`` when unplaced) and :data:`ENRICHED_COLUMNS`.
    """
    settings = settings or get_settings()
    df = actors.copy()
    for name in FIELD_NAMES:
        if name not in df.columns:
            df[name] = ""
    placed = geocode_actors(df, reference=territory.reference, settings=settings, offline=offline, progress=progress, client=client, cache=cache)
    if apply_manual:
        placed = corrections_mod.apply_corrections(placed.assign(id=df["id"]), corrections_mod.load_corrections(settings=settings)).drop(columns="id")
    lon, lat = placed["longitude_lieu"].to_numpy(dtype=float), placed["latitude_lieu"].to_numpy(dtype=float)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    points = gpd.points_from_xy(np.where(ok, lon, 0), np.where(ok, lat, 0))
    geometry = gpd.GeoSeries(np.where(ok, points, None), index=df.index, crs=CRS_STORAGE)
    keep = [c for c in placed.columns if c not in ("longitude_lieu", "latitude_lieu", "geocodage_code_insee", "geocodage_cache")]
    gdf = gpd.GeoDataFrame(pd.concat([df, placed[keep]], axis=1), geometry=geometry, crs=CRS_STORAGE)
    return enrich(gdf, territory)


# -- the directory of the app, cached on disk ----------------------------------------------------


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def store_path(settings: Settings) -> Path:
    """The staff store (SQLite) whose content, once seeded, is the directory of the app."""
    from geodata.store import STORE_FILE

    return Path(settings.data_dir) / STORE_FILE


def directory_source(settings: Settings | None = None) -> tuple[str, str]:
    """Where the app's directory comes from and a token that changes whenever it changes.

    The staff store wins once it holds actors; else ``CSTI_ACTORS_FILE``; else the embedded sample.
    Pages pass the token to their cache so an edit shows on the public map at the next rerun.
    """
    settings = settings or get_settings()
    path = store_path(settings)
    if path.exists():
        from geodata.store import Store

        if not Store(path).is_empty():
            stat = path.stat()
            return "annuaire de l'équipe", f"store:{stat.st_mtime_ns}:{stat.st_size}"
    source = Path(settings.actors_file) if settings.actors_file else SAMPLE_FILE
    label = f"fichier {source.name}" if settings.actors_file else "annuaire d'exemple embarqué"
    try:
        stat = source.stat()
    except OSError:
        return label, f"file:{source}:absent"
    return label, f"file:{source}:{stat.st_mtime_ns}:{stat.st_size}"


def _cache_key(source: Path | bytes, territory: Territory, settings: Settings) -> str:
    corr = corrections_mod.corrections_path(settings)
    geocache = default_cache(settings).path
    qpv = territory.qpv
    return _digest(
        CACHE_VERSION,
        ",".join(FIELD_NAMES),  # a field added to the schema changes the placed directory
        source if isinstance(source, bytes) else source.read_bytes(),
        json.dumps({k: territory.reference.meta.get(k) for k in ("source_version", "schema_version", "population_source")}, sort_keys=True),
        "" if qpv is None else f"{len(qpv)}|{','.join(sorted(qpv['code_qp'].astype(str)))}",
        ",".join(territory.rural.columns),
        corr.read_bytes() if corr.exists() else b"",
        geocache.stat().st_mtime_ns if geocache.exists() else 0,
        settings.geocoder_min_score,
    )


def _stored_actors(settings: Settings) -> pd.DataFrame | None:
    path = store_path(settings)
    if not path.exists():
        return None
    from geodata.store import Store

    store = Store(path)
    return None if store.is_empty() else store.list_actors()


def load_directory(
    *, settings: Settings | None = None, reference: Reference | None = None, territory: Territory | None = None
) -> gpd.GeoDataFrame:
    """The directory shown by the app, placed and enriched: the staff store once seeded, else
    ``CSTI_ACTORS_FILE``, else the embedded sample (see :func:`directory_source`).

    Works offline (cache of earlier geocoding answers, then the commune gazetteer). The result is
    kept on disk in ``settings.cache_dir/annuaire``, keyed by the input file, the reference, the
    layers and the corrections, so a rerun of the app does not place the actors again.
    """
    settings = settings or get_settings()
    if territory is None:
        territory = load_territory(settings=settings)
        if reference is not None:
            territory.reference = reference
    source = Path(settings.actors_file) if settings.actors_file else SAMPLE_FILE
    stored = _stored_actors(settings)
    folder = Path(settings.cache_dir) / "annuaire"
    try:
        if stored is not None:
            key = _cache_key(stored.to_csv(index=False).encode("utf-8"), territory, settings)
        else:
            key = _cache_key(source, territory, settings) if source.exists() else ""
    except OSError:
        key = ""
    cached = folder / f"{key}.parquet"
    if key and cached.exists():
        try:
            return gpd.read_parquet(cached)
        except (OSError, ValueError):
            pass
    if stored is not None:
        # Store rows were validated when saved: they go straight to placement.
        actors, result_rejected = stored, 0
    else:
        result = read_actors(source, settings=settings)
        actors, result_rejected = result.actors, len(result.rejected)
    gdf = place_and_enrich(actors, territory, settings=settings, offline=True)
    gdf.attrs = {"lignes_rejetees": result_rejected}
    if key:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.parquet"):
                old.unlink(missing_ok=True)
            tmp = cached.with_suffix(".part")
            gdf.to_parquet(tmp, index=False)
            tmp.replace(cached)
        except OSError:
            pass  # an unwritable cache only costs time
    return gdf


__all__ = ["ROW", "enrich", "load_directory", "place_and_enrich", "read_actors", "read_sample"]
