"""Priority neighbourhoods (QPV): official layer of any vintage, normalised, with INSEE population."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import _http
from geodata.errors import DataFileError, LayerUnavailableError, NetworkError
from geodata.reference import CRS_STORAGE, DEPARTMENTS
from geodata.settings import Settings, get_settings

#: Normalised columns of the QPV layer.
COLUMNS = ["code_qp", "nom_qp", "communes", "codes_insee", "code_departement", "generation", "population", "geometry"]

# Field names seen across vintages and producers (2015: CGET/ANCT; 2024: ANCT), lower-cased.
_CODE = ("code_qp", "code_quartier", "codeqp", "qp", "code")
_NAME = ("nom_qp", "lib_qp", "nom_quartier", "libelle", "nom", "n")
_COMMUNE_NAMES = ("commune_qp", "lib_com", "nom_commune", "communes", "nom_com")
_COMMUNE_CODES = ("insee_com", "code_commune", "code_insee", "codes_insee", "com", "depcom")
_DEP = ("insee_dep", "code_departement", "code_dep", "dep", "d")
_POP = ("pop_mun", "population", "pop", "popmun")

HOW_TO_GET = (
    "La couche des QPV n'est pas disponible hors ligne. Pour l'obtenir : téléchargez le fichier officiel des "
    "quartiers prioritaires (ANCT, data.gouv.fr, « Quartiers prioritaires de la politique de la ville (QPV) », "
    "GeoJSON, Shapefile zippé ou GeoPackage) puis indiquez son chemin dans CSTI_QPV_FILE "
    "(ou `python -m geodata reference --qpv CHEMIN`) ; en ligne, `python -m geodata reference --download` "
    "le télécharge une fois depuis CSTI_QPV_URL dans le cache."
)


def _pick(columns: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    for cand in candidates:
        if cand in columns:
            return columns[cand]
    return None


def _department_from_code(code: str) -> str | None:
    # QP0ddnnn (2015) and QN0ddnnM (2024): the department sits in characters 3-4 (after a 0).
    m = re.fullmatch(r"Q[PN]0?(\d{2}|2[AB]|9\d{2})\w*", code)
    return m.group(1) if m else None


def generation_of(code: str) -> str:
    return "2024" if code.startswith("QN") else "2015"


def normalise_qpv(raw: gpd.GeoDataFrame, *, source: str = "") -> gpd.GeoDataFrame:
    """Normalise a QPV layer of any vintage to :data:`COLUMNS`, in EPSG:4326, Occitanie only."""
    if raw.crs is None:
        raise DataFileError(f"La couche QPV {source!r} n'a pas de système de coordonnées : ajoutez un fichier .prj ou utilisez un GeoJSON.")
    cols = {c.lower(): c for c in raw.columns if c != raw.geometry.name}
    code_col = _pick(cols, _CODE)
    if code_col is None:
        raise DataFileError(f"Aucun champ de code QPV ({', '.join(_CODE)}) dans {source!r} ; champs lus : {list(cols.values())!r}.")
    gdf = raw.to_crs(CRS_STORAGE)
    code = gdf[code_col].astype(str).str.strip().str.upper()
    out = pd.DataFrame({"code_qp": code})
    name_col = _pick(cols, _NAME)
    out["nom_qp"] = gdf[name_col].astype(str) if name_col else code
    names = _pick(cols, _COMMUNE_NAMES)
    out["communes"] = gdf[names].astype(str) if names else ""
    codes = _pick(cols, _COMMUNE_CODES)
    out["codes_insee"] = gdf[codes].map(lambda v: ",".join(v) if isinstance(v, (list, tuple, np.ndarray)) else str(v)) if codes else ""
    dep = _pick(cols, _DEP)
    from_code = code.map(_department_from_code)
    out["code_departement"] = gdf[dep].astype(str).str.zfill(2).where(gdf[dep].notna(), from_code) if dep else from_code
    out["generation"] = code.map(generation_of)
    pop = _pick(cols, _POP)
    out["population"] = pd.to_numeric(gdf[pop], errors="coerce").astype("Int64") if pop else pd.array([pd.NA] * len(gdf), dtype="Int64")
    result = gpd.GeoDataFrame(out, geometry=gdf.geometry.make_valid().values, crs=CRS_STORAGE)
    result = result[result["code_departement"].isin(DEPARTMENTS)]
    return result.sort_values("code_qp").reset_index(drop=True)[COLUMNS]


def _french_number(text: pd.Series) -> pd.Series:
    # INSEE writes 1 203 (U+202F or U+00A0 thousands separator) and 55,3 (decimal comma).
    cleaned = text.astype(str).str.replace(r"[\s\u202f\u00a0]", "", regex=True).str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned.replace("", np.nan), errors="coerce")


def read_qpv_population(path: str | Path) -> pd.DataFrame:
    """Read an INSEE table per QPV (``CODGEO``, ``POP_MUN``): BOM, ';', French numbers."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("cp1252")
    except OSError as exc:
        raise DataFileError(f"Fichier de population QPV illisible : {str(path)!r} ({exc.strerror}).") from exc
    table = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    table = table.loc[:, [c for c in table.columns if c and not c.startswith("Unnamed")]]
    upper = {c.upper(): c for c in table.columns}
    if "CODGEO" not in upper or "POP_MUN" not in upper:
        raise DataFileError(f"Colonnes CODGEO et POP_MUN attendues dans {str(path)!r} ; lues : {list(table.columns)[:8]!r}.")
    return pd.DataFrame(
        {
            "code_qp": table[upper["CODGEO"]].str.strip().str.upper(),
            "population_insee": _french_number(table[upper["POP_MUN"]]).astype("Int64"),
        }
    )


def join_population(qpv: gpd.GeoDataFrame, population: pd.DataFrame) -> gpd.GeoDataFrame:
    """Fill ``population`` from an INSEE table; the INSEE figure wins over the layer's own."""
    merged = qpv.merge(population, on="code_qp", how="left")
    merged["population"] = merged["population_insee"].fillna(merged["population"]).astype("Int64")
    return gpd.GeoDataFrame(merged.drop(columns="population_insee"), geometry="geometry", crs=CRS_STORAGE)


def _zip_member(path: Path) -> str:
    """The layer to read inside a ZIP: a WGS84 GeoJSON first, else a GeoPackage, else a Shapefile."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    for suffixes in ((".geojson", ".json"), (".gpkg",), (".shp",)):
        found = sorted((n for n in names if n.lower().endswith(suffixes)), key=lambda n: ("wgs84" not in n.lower(), n))
        if found:
            return f"zip://{path}!{found[0]}"
    raise DataFileError(f"L'archive {str(path)!r} ne contient ni GeoJSON, ni GeoPackage, ni Shapefile.")


def read_qpv_file(path: str | Path) -> gpd.GeoDataFrame:
    """Read a QPV layer from GeoJSON, zipped Shapefile or GeoPackage (or a ZIP of them), any CRS."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"Fichier QPV introuvable : {str(path)!r}. Vérifiez le chemin.")
    try:
        target = _zip_member(path) if zipfile.is_zipfile(path) else path
        raw = gpd.read_file(target)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise DataFileError(f"Fichier QPV illisible : {str(path)!r} ({exc}). Fournissez un GeoJSON, un Shapefile zippé ou un GeoPackage.") from exc
    return normalise_qpv(raw, source=str(path))


def load_qpv(
    *,
    settings: Settings | None = None,
    path: str | Path | None = None,
    population_path: str | Path | None = None,
    download: bool = False,
) -> gpd.GeoDataFrame:
    """The QPV layer: from ``path``, else ``CSTI_QPV_FILE``, else the copy of ``CSTI_QPV_URL`` in the cache.

    The official file is fetched only when ``download`` is true (``python -m geodata reference
    --download``), never silently at start-up. Raises :class:`LayerUnavailableError` with
    instructions when no layer is available.
    """
    settings = settings or get_settings()
    path = path or settings.qpv_file or None
    if path is None:
        cached = settings.cache_dir / "qpv" / f"qpv-{hashlib.sha256(settings.qpv_url.encode()).hexdigest()[:12]}"
        existing = sorted(cached.parent.glob(cached.name + ".*")) if cached.parent.exists() else []
        if existing:
            path = existing[0]
        elif not download:
            raise LayerUnavailableError(HOW_TO_GET)
        else:
            try:
                body = _http.fetch_bytes(settings.qpv_url, settings=settings)
            except NetworkError as exc:
                raise LayerUnavailableError(f"{HOW_TO_GET} ({exc})") from exc
            suffix = ".zip" if body[:2] == b"PK" else (".gpkg" if body[:6] == b"SQLite" else ".geojson")
            path = cached.with_suffix(suffix)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    qpv = read_qpv_file(path)
    population_path = population_path or settings.qpv_population_file or None
    if population_path:
        qpv = join_population(qpv, read_qpv_population(population_path))
    return qpv
