"""Priority neighbourhoods (QPV): official layer of any vintage, normalised, with INSEE population."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geodata import _http
from geodata.errors import DataFileError, LayerUnavailableError, NetworkError
from geodata.reference import CRS_STORAGE, DEPARTMENTS, _atomic_write
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
    if len(code) and not code.str.fullmatch(r"Q[PN]\w+").any():
        raise DataFileError(
            f"Les codes du champ {code_col!r} de {source!r} ne sont pas des codes de quartier prioritaire (QP… ou QN…, ex. "
            f"{code.iloc[0]!r} lu) : ce fichier n'est pas celui des QPV."
        )
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


def read_qpv_population(path: str | Path, *, name: str | None = None) -> pd.DataFrame:
    """Read an INSEE table per QPV (``CODGEO``, ``POP_MUN``): BOM, ';', French numbers (``name`` names it in messages)."""
    path = Path(path)
    name = name or str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("cp1252")
    except OSError as exc:
        raise DataFileError(f"Fichier de population QPV illisible : {name!r} ({exc.strerror}).") from exc
    try:
        table = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(f"Tableau de population QPV illisible : {name!r} ({exc}). Fournissez le CSV de l'INSEE (« ; », colonnes CODGEO et POP_MUN).") from exc
    table = table.loc[:, [c for c in table.columns if c and not c.startswith("Unnamed")]]
    upper = {c.upper(): c for c in table.columns}
    if "CODGEO" not in upper or "POP_MUN" not in upper:
        raise DataFileError(f"Colonnes CODGEO et POP_MUN attendues dans {name!r} ; lues : {list(table.columns)[:8]!r}.")
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


def _qpv_layer(target, name: str) -> str | None:
    """The layer of a multi-layer file (a GeoPackage) that holds the QPV: the first with a QPV code field."""
    layers = [str(n) for n, _ in pyogrio.list_layers(target)]
    if len(layers) <= 1:
        return None
    for layer in layers:
        if {f.lower() for f in pyogrio.read_info(target, layer=layer)["fields"]} & set(_CODE):
            return layer
    raise DataFileError(
        f"Aucune couche de {name!r} ne porte de code de quartier ({', '.join(_CODE)}) ; couches lues : {layers[:8]!r}. "
        "Fournissez la couche des quartiers prioritaires (ANCT)."
    )


def read_qpv_file(path: str | Path, *, name: str | None = None) -> gpd.GeoDataFrame:
    """Read a QPV layer from GeoJSON, zipped Shapefile or GeoPackage (or a ZIP of them), any CRS (``name`` names it in messages).

    In a file of several layers, the one with a QPV code field is read.
    """
    path = Path(path)
    name = name or str(path)
    if not path.exists():
        raise DataFileError(f"Fichier QPV introuvable : {name!r}. Vérifiez le chemin.")
    try:
        target = _zip_member(path) if zipfile.is_zipfile(path) else path
        raw = gpd.read_file(target, layer=_qpv_layer(target, name))
    except DataFileError:
        raise
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        # GDAL's own words (English, with the temporary path) stay in the chained exception, for the logs.
        raise DataFileError(
            f"Fichier QPV illisible : {name!r} n'est pas un GeoJSON, un GeoPackage ou un Shapefile zippé valide. "
            "Fournissez le fichier officiel des quartiers prioritaires tel que publié."
        ) from exc
    return normalise_qpv(raw, source=name)


def load_qpv(
    *,
    settings: Settings | None = None,
    path: str | Path | None = None,
    population_path: str | Path | None = None,
    download: bool = False,
) -> gpd.GeoDataFrame:
    """The QPV layer: from ``path``, else ``CSTI_QPV_FILE``, else the staff's file, else the copy of ``CSTI_QPV_URL`` in the cache.

    The file loaded by staff from the page « Géographie de référence » (:func:`install_qpv`) comes after
    ``CSTI_QPV_FILE`` and before the downloaded copy. The official file is fetched only when ``download`` is true (``python -m geodata reference
    --download``), never silently at start-up. Raises :class:`LayerUnavailableError` with
    instructions when no layer is available.
    """
    settings = settings or get_settings()
    staff_layer, staff_population = staff_files(settings)
    if not (path or settings.qpv_file) and staff_layer is not None:
        path, population_path = staff_layer, population_path or staff_population
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


# ----------------------------------------------------------------------------- the file loaded by staff

#: Folder of ``CSTI_DATA_DIR`` (persistent, beside the directory's store) holding the QPV file loaded by staff.
STAFF_FOLDER = "qpv"
LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
_LAYER = "quartiers"
_POPULATION = "population.csv"
_META = "source.json"


def _staff_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / STAFF_FOLDER


def staff_files(settings: Settings | None = None) -> tuple[Path | None, Path | None]:
    """The QPV layer and population table loaded by staff (each ``None`` when absent)."""
    folder = _staff_dir(settings or get_settings())
    layers = sorted(p for p in folder.glob(f"{_LAYER}.*") if p.suffix in LAYER_SUFFIXES) if folder.exists() else []
    population = folder / _POPULATION
    return (layers[0] if layers else None), (population if population.exists() else None)


def staff_source(settings: Settings | None = None) -> dict | None:
    """What staff loaded last (file names, date, account, number of QPV), or ``None``."""
    path = _staff_dir(settings or get_settings()) / _META
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install_qpv(
    data: bytes,
    name: str,
    *,
    population: bytes | None = None,
    population_name: str = "",
    user: str = "",
    settings: Settings | None = None,
) -> dict:
    """Check an official QPV file (and optionally an INSEE population table) and keep it where :func:`load_qpv` finds it.

    Refused, with a French message naming the file and the fix: an empty file or another format, a file
    without a QPV layer, a layer without QPV code or with points instead of outlines, no QPV of Occitanie, a
    population table without ``CODGEO``/``POP_MUN`` or matching none of the quartiers. Nothing is replaced
    unless everything is valid. Without a new table, the one already kept stays if it matches the new
    quartiers. Returns what :func:`staff_source` will then answer.
    """
    settings = settings or get_settings()
    suffix = Path(name).suffix.lower()
    if not data:
        raise DataFileError(f"Le fichier {name!r} est vide : déposez le fichier officiel des quartiers prioritaires.")
    if suffix not in LAYER_SUFFIXES:
        raise DataFileError(
            f"Le fichier {name!r} n'est pas une couche géographique des QPV : déposez le fichier officiel (ANCT, data.gouv.fr, "
            "« Quartiers prioritaires de la politique de la ville ») en GeoJSON, GeoPackage ou archive ZIP."
        )
    with tempfile.TemporaryDirectory() as tmp:
        layer_path = Path(tmp) / f"{_LAYER}{suffix}"
        layer_path.write_bytes(data)
        qpv = read_qpv_file(layer_path, name=name)
        table = None
        if population:
            table_path = Path(tmp) / _POPULATION
            table_path.write_bytes(population)
            table = read_qpv_population(table_path, name=population_name or "population")
    if qpv.empty:
        raise DataFileError(
            f"Le fichier {name!r} ne contient aucun quartier d'Occitanie (départements {', '.join(DEPARTMENTS)}) : "
            "déposez le fichier national ou celui de la région."
        )
    kinds = set(qpv.geometry.geom_type.dropna())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon", "GeometryCollection"}:
        raise DataFileError(
            f"Les quartiers de {name!r} ne sont pas des contours (géométries lues : {', '.join(sorted(kinds)) or 'aucune'}) : "
            "déposez la couche des périmètres des QPV, pas celle de leurs centres."
        )
    codes = set(qpv["code_qp"])
    _, kept_population = staff_files(settings)
    if table is not None and not codes & set(table["code_qp"]):
        raise DataFileError(
            f"Aucun code du tableau {population_name!r} (colonne CODGEO) ne correspond aux quartiers de {name!r} : "
            "vérifiez que le tableau de population et la couche sont de la même génération de QPV (2015 ou 2024)."
        )
    if table is None and kept_population is not None and not codes & set(read_qpv_population(kept_population)["code_qp"]):
        kept_population = None  # the table kept belongs to another generation
    folder = _staff_dir(settings)
    _atomic_write(folder / f"{_LAYER}{suffix}", lambda p: Path(p).write_bytes(data))
    for old in folder.glob(f"{_LAYER}.*"):
        if old.suffix != suffix:
            old.unlink()
    if table is not None:
        _atomic_write(folder / _POPULATION, lambda p: Path(p).write_bytes(population))
    elif kept_population is None:
        (folder / _POPULATION).unlink(missing_ok=True)
    previous = staff_source(settings) or {}
    meta = {
        "fichier": name,
        "population": population_name if table is not None else (previous.get("population", "") if kept_population else ""),
        "quartiers": len(qpv),
        "generations": sorted(qpv["generation"].astype(str).unique()),
        "departements": sorted(qpv["code_departement"].astype(str).unique()),
        "le": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "par": user,
    }
    _atomic_write(folder / _META, lambda p: Path(p).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8"))
    return meta


def qpv_origin(settings: Settings | None = None) -> str:
    """Where :func:`load_qpv` takes the QPV layer from, in French, for the staff."""
    settings = settings or get_settings()
    if settings.qpv_file:
        return f"fichier fixé par l'installation (CSTI_QPV_FILE = {settings.qpv_file!r}), prioritaire sur celui déposé par l'équipe"
    source = staff_source(settings)
    if staff_files(settings)[0] is not None and source:
        population = f", population : « {source['population']} »" if source.get("population") else ", sans tableau de population"
        return f"fichier déposé par l'équipe : « {source['fichier']} » le {source['le'][:10]} par {source.get('par') or '?'}{population}"
    return "copie téléchargée du fichier officiel (python -m geodata reference --download), ou aucune"
