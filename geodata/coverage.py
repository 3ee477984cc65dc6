"""Coverage gaps: rural communes and QPV out of reach of science-culture actors, and where to act next.

Everything here is pure and computed in the metric CRS (EPSG:2154). Distances are straight
lines, optionally multiplied by a detour factor that approximates the road network: an
actor reaches a place when ``straight-line distance × detour factor ≤ reach``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from geodata import rural as rural_mod
from geodata.actors import placed_mask
from geodata.errors import GeodataError
from geodata.geocoding import COMMUNE_LEVEL_PRECISIONS
from geodata.reference import CRS_METRIC, CRS_STORAGE, REGION_CODE, communes_at
from geodata.selection import Selection
from geodata.selection import select_actors as select
from geodata.writers import layer_bytes
from geodata.zones import communes_in_zones

#: Default reach: about 20 minutes by car in the countryside, 15 minutes on foot in a neighbourhood.
DEFAULT_RURAL_REACH_KM = 15.0
DEFAULT_QPV_REACH_KM = 1.0
MAX_DETOUR = 3.0
#: A place exactly at the reach counts as within it; 1 cm absorbs the round-off of projections.
TOLERANCE_M = 0.01

# always_xy: coordinates go in and out as (lon, lat) / (x, y), whatever the CRS's axis order.
_TO_METRIC = Transformer.from_crs(CRS_STORAGE, CRS_METRIC, always_xy=True)
_TO_STORAGE = Transformer.from_crs(CRS_METRIC, CRS_STORAGE, always_xy=True)

#: Staff columns the analysis reads beyond the public fields: how precisely each actor is placed (its figures become
#: ranges); they only ever feed aggregate figures, never a per-actor table, map or export.
ANALYSIS_COLUMNS = ("geocodage_precision",)

#: Layers exported by :func:`layers` (name -> French description).
LAYERS = {
    "communes_rurales_hors_portee": "Communes rurales hors de portée (contours), classées par population",
    "communes": "Toutes les communes (point représentatif) avec la distance à l'acteur le plus proche",
    "qpv_hors_portee": "QPV hors de portée (contours), classés par population",
    "qpv": "Tous les QPV (contours) avec les acteurs présents et la distance à l'acteur le plus proche",
    "departements": "Chiffres clés par département",
    "epci": "Chiffres clés par intercommunalité (EPCI, partie en Occitanie)",
    "ou_agir": "Où agir ensuite : communes proposées, gain de chaque étape",
    "sites_hypothetiques": "Sites hypothétiques ajoutés",
}


@dataclass(frozen=True)
class Params:
    """Parameters of a coverage analysis (distances in km; filters ``None`` = every actor)."""

    rural_reach_km: float = DEFAULT_RURAL_REACH_KM
    qpv_reach_km: float = DEFAULT_QPV_REACH_KM
    rural_definition: str = "densite"
    detour_factor: float = 1.0
    circles: tuple[int, ...] | None = None
    types: tuple[str, ...] | None = None
    families: tuple[str, ...] | None = None
    qpv_weight: float = 0.5
    #: Count the zones declared by itinerant offers (``zone_intervention``): their communes and QPV are reached whatever the distance.
    itinerant: bool = True

    def selection(self) -> Selection:
        """The actors' filters of these parameters, as the project's one :class:`~geodata.selection.Selection`."""
        return Selection(
            circles=tuple(str(int(c)) for c in self.circles or ()),
            types=tuple(self.types or ()),
            families=tuple(self.families or ()),
        )

    def validate(self) -> Params:
        for name, label in (("rural_reach_km", "portée rurale"), ("qpv_reach_km", "portée QPV")):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 200):
                raise GeodataError(f"La {label} {value!r} (km) doit être un nombre strictement positif, au plus 200 km.")
        if not (1.0 <= self.detour_factor <= MAX_DETOUR):
            raise GeodataError(f"Le facteur de détour {self.detour_factor!r} doit être compris entre 1 et {MAX_DETOUR:g}.")
        if not (0.0 <= self.qpv_weight <= 1.0):
            raise GeodataError(f"Le poids des QPV {self.qpv_weight!r} doit être compris entre 0 et 1.")
        if self.rural_definition not in rural_mod.DEFINITIONS:
            raise GeodataError(
                f"Définition du rural inconnue : {self.rural_definition!r}. Choisissez parmi {sorted(rural_mod.DEFINITIONS)!r}."
            )
        return self

    @property
    def rural_reach_m(self) -> float:
        """Straight-line radius (m) that the reach allows once the detour factor is applied."""
        return self.rural_reach_km * 1000.0 / self.detour_factor + TOLERANCE_M

    @property
    def qpv_reach_m(self) -> float:
        return self.qpv_reach_km * 1000.0 / self.detour_factor + TOLERANCE_M


@dataclass(eq=False)  # identity equality: a Demand can key caches of derived data
class Demand:
    """Where people live: commune points and QPV polygons, projected once to the metric CRS."""

    communes: pd.DataFrame  # code_insee, nom, code_departement, code_epci, nom_epci, population, point_lon, point_lat, rural_<key>...
    points: np.ndarray  # shapely Points, EPSG:2154, one per commune
    commune_geometry: gpd.GeoSeries  # EPSG:4326 polygons (maps and exports)
    departements: gpd.GeoDataFrame
    qpv: pd.DataFrame | None = None  # code_qp, nom_qp, communes, code_departement, generation, population, code_epci, nom_epci
    qpv_metric: np.ndarray | None = None  # shapely geometries, EPSG:2154
    qpv_geometry: gpd.GeoSeries | None = None  # EPSG:4326
    population_year: int | None = None
    population_label: str = ""
    epci: pd.DataFrame | None = None  # code_epci, nom, type_epci, hors_region, geometry (EPSG:4326)
    qpv_missing: str = ""
    #: Row of ``communes`` holding each QPV's representative point (-1 outside the table): the commune a zone must cover.
    qpv_commune: np.ndarray | None = None
    rural_definitions: dict[str, str] = field(default_factory=dict)
    candidate_tree: STRtree | None = None
    _hulls: tuple | None = None  # (metric polygons, hull vertices (m, 2), offsets (n + 1,)), built on first use
    _derived: dict = field(default_factory=dict)  # what depends on the sites only (nearest sites, intervals): see _remember

    @property
    def has_qpv(self) -> bool:
        return self.qpv is not None

    def commune_hulls(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each commune's polygon in EPSG:2154, and the vertices of its convex hull (``xy[offsets[i]:offsets[i + 1]]``).

        The farthest point of a polygon from any point, or from any convex shape, is a vertex of its convex hull:
        these vertices give the largest distance an actor placed only at its commune can be from a place.
        """
        if self._hulls is None:
            polygons = np.asarray(self.commune_geometry.to_crs(CRS_METRIC).values)
            xy, owner = shapely.get_coordinates(shapely.convex_hull(polygons), return_index=True)
            offsets = np.searchsorted(owner, np.arange(len(polygons) + 1))
            self._hulls = (polygons, xy, offsets)
        return self._hulls


def prepare_demand(
    communes: gpd.GeoDataFrame,
    rural_table: pd.DataFrame,
    departements: gpd.GeoDataFrame,
    *,
    qpv: gpd.GeoDataFrame | None = None,
    population_year: int | None = None,
    population_label: str = "",
    epci: gpd.GeoDataFrame | None = None,
    qpv_missing: str = "",
) -> Demand:
    """Project communes (representative points) and QPV to EPSG:2154 once, for repeated analyses.

    Parameters
    ----------
    communes
        Communes with ``code_insee``, ``nom``, ``code_departement``, ``population``, ``point_lon``,
        ``point_lat`` and polygon geometry in EPSG:4326.
    rural_table
        Output of :func:`geodata.rural.rural_table` (``code_insee`` and ``rural_<key>`` columns).
    departements
        Departments (``code_departement``, ``nom``, geometry).
    epci
        Intercommunalities (``code_epci``, ``nom``, ``type_epci``, ``hors_region``, geometry); the communes then need
        ``code_epci`` and ``nom_epci``.
    qpv
        Normalised QPV layer (:func:`geodata.qpv.load_qpv`) or ``None`` when unavailable.
    """
    if communes.crs is None or communes.crs.to_string() != CRS_STORAGE:
        raise GeodataError(f"Les communes doivent être en {CRS_STORAGE} (reçu {communes.crs!r}) : utilisez to_crs().")
    rural_cols = [c for c in rural_table.columns if c.startswith("rural_")]
    epci_cols = ["code_epci", "nom_epci"] if {"code_epci", "nom_epci"} <= set(communes.columns) else []
    base_cols = ["code_insee", "nom", "code_departement", *epci_cols, "population", "point_lon", "point_lat"]
    table = pd.DataFrame(communes[base_cols]).reset_index(drop=True)
    table = table.merge(rural_table[["code_insee", *rural_cols]], on="code_insee", how="left", validate="one_to_one")
    pts = gpd.GeoSeries(gpd.points_from_xy(table["point_lon"], table["point_lat"]), crs=CRS_STORAGE).to_crs(CRS_METRIC)
    points = np.asarray(pts.values)
    defs = {d.key: d.label for d in rural_mod.DEFINITIONS.values() if f"rural_{d.key}" in rural_cols}
    demand = Demand(
        communes=table,
        points=points,
        commune_geometry=gpd.GeoSeries(communes.geometry.to_numpy(), crs=CRS_STORAGE),
        departements=departements[["code_departement", "nom", "geometry"]].reset_index(drop=True),
        population_year=population_year,
        population_label=population_label,
        epci=None if epci is None else epci[["code_epci", "nom", "type_epci", "hors_region", "geometry"]].reset_index(drop=True),
        qpv_missing=qpv_missing,
        rural_definitions=defs,
        candidate_tree=STRtree(points),
    )
    if qpv is not None:
        q = qpv.reset_index(drop=True)
        demand.qpv = pd.DataFrame(q[["code_qp", "nom_qp", "communes", "code_departement", "generation", "population"]])
        polygons = [_polygonal(g) for g in q.geometry.to_numpy()]
        demand.qpv_geometry = gpd.GeoSeries(polygons, crs=q.crs or CRS_STORAGE).to_crs(CRS_STORAGE)
        demand.qpv_metric = np.asarray(demand.qpv_geometry.to_crs(CRS_METRIC).values)
        # A QPV belongs to the commune (and the EPCI) holding a point inside it.
        inner = demand.qpv_geometry.representative_point()
        where = communes_at(communes, inner.x.to_numpy(), inner.y.to_numpy())
        rows = pd.Series(np.arange(len(table)), index=table["code_insee"].to_numpy())
        demand.qpv_commune = where.map(rows).fillna(-1).to_numpy(dtype=np.int64)
        if epci_cols:
            for col in epci_cols:  # its code and its name, as a rural commune's (tables, exports)
                demand.qpv[col] = where.map(communes.set_index("code_insee")[col]).to_numpy()
    return demand


def _polygonal(geom):
    """The polygonal part of a geometry: make_valid leaves GeometryCollections that maps cannot style."""
    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return geom
    merged = shapely.union_all(parts)
    return merged


def demand_from_territory(territory) -> Demand:
    """:func:`prepare_demand` from a :class:`geodata.territory.Territory`."""
    ref = territory.reference
    return prepare_demand(
        ref.communes,
        territory.rural,
        ref.departements,
        qpv=territory.qpv,
        population_year=ref.population_year,
        population_label=ref.population_label,
        epci=ref.epci,
        qpv_missing=territory.missing.get("qpv", ""),
    )


# ----------------------------------------------------------------------------- sites (actors and hypotheses)


@dataclass(frozen=True)
class Sites:
    """Points that reach people: counted actors and hypothetical sites, in EPSG:2154."""

    names: np.ndarray  # object array of str
    xy: np.ndarray  # (n, 2) float, EPSG:2154
    hypothetical: np.ndarray  # bool
    #: Row of ``Demand.communes`` for a site known only at its commune (it may be anywhere inside), -1 for a point.
    area: np.ndarray | None = None

    def __post_init__(self):
        if self.area is None:
            object.__setattr__(self, "area", np.full(len(self.names), -1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_commune_level(self) -> int:
        """How many sites are known only at their commune."""
        return int((self.area >= 0).sum())

    def __add__(self, other: Sites) -> Sites:
        return Sites(
            np.concatenate([self.names, other.names]),
            np.concatenate([self.xy, other.xy]).reshape(-1, 2),
            np.concatenate([self.hypothetical, other.hypothetical]),
            np.concatenate([self.area, other.area]),
        )

    @classmethod
    def empty(cls) -> Sites:
        return cls(np.array([], dtype=object), np.zeros((0, 2)), np.zeros(0, dtype=bool))

    @classmethod
    def from_lonlat(cls, names, lon, lat, *, hypothetical: bool = False) -> Sites:
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if len(lon) == 0:
            return cls.empty()
        xy = np.column_stack(_TO_METRIC.transform(lon, lat))
        return cls(np.asarray([str(n) for n in names], dtype=object), xy, np.full(len(lon), hypothetical))

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self) == 0:
            return np.zeros(0), np.zeros(0)
        lon, lat = _TO_STORAGE.transform(self.xy[:, 0], self.xy[:, 1])
        return np.asarray(lon), np.asarray(lat)


def counted_actors(actors: gpd.GeoDataFrame, params: Params) -> gpd.GeoDataFrame:
    """Actors counted by the analysis: placed on the map and matching the filters of ``params`` (one :class:`Selection`).

    An actor with no circle (Fab Labs, tourism sites) is left out as soon as a circle filter is set.
    """
    if actors.crs is None:
        raise GeodataError("La couche des acteurs n'a pas de système de coordonnées : attendu EPSG:4326.")
    # Unplaced actors have no geometry, an empty one or NaN coordinates: none of them is counted.
    return select(actors[placed_mask(actors)], params.selection())


def sites_from_actors(actors: gpd.GeoDataFrame, demand: Demand | None = None) -> Sites:
    """Project actor points (any CRS) to EPSG:2154; names from ``nom``.

    With ``demand``, an actor placed only at its commune (``geocodage_precision`` in
    :data:`~geodata.geocoding.COMMUNE_LEVEL_PRECISIONS`, commune ``code_insee_lieu``) becomes an area: it may
    stand anywhere in that commune. Street, house-number, locality, manual and file positions stay points.
    """
    if len(actors) == 0:
        return Sites.empty()
    if actors.crs.to_string() != CRS_STORAGE:
        actors = actors.to_crs(CRS_STORAGE)
    # Transform raw coordinates: about ten times faster than GeoSeries.to_crs for 50,000 points.
    lonlat = shapely.get_coordinates(actors.geometry.to_numpy())
    xy = np.column_stack(_TO_METRIC.transform(lonlat[:, 0], lonlat[:, 1]))
    names = actors["nom"].astype(str).to_numpy(dtype=object) if "nom" in actors.columns else np.array([""] * len(actors), dtype=object)
    area = np.full(len(actors), -1, dtype=np.int64)
    if demand is not None and {"geocodage_precision", "code_insee_lieu"} <= set(actors.columns):
        rows = pd.Series(np.arange(len(demand.communes)), index=demand.communes["code_insee"].to_numpy())
        at_commune = actors["geocodage_precision"].astype(str).isin(COMMUNE_LEVEL_PRECISIONS).to_numpy()
        where = actors["code_insee_lieu"].astype(str).map(rows).to_numpy(dtype=float)
        known = at_commune & ~np.isnan(where)
        area[known] = where[known].astype(np.int64)
    return Sites(names, xy, np.zeros(len(actors), dtype=bool), area)


def sites_from_communes(demand: Demand, codes) -> Sites:
    """Hypothetical sites at the representative point of the given communes (INSEE codes)."""
    table = demand.communes.set_index("code_insee")
    codes = [str(c).strip() for c in codes]
    unknown = [c for c in codes if c not in table.index]
    if unknown:
        raise GeodataError(f"Code commune inconnu en Occitanie : {unknown[0]!r}. Donnez un code INSEE à 5 caractères (ex. '31555').")
    rows = table.loc[codes]
    names = [f"Site hypothétique : {n}" for n in rows["nom"]]
    return Sites.from_lonlat(names, rows["point_lon"], rows["point_lat"], hypothetical=True)


def site_from_coordinates(lon, lat, name: str = "") -> Sites:
    """One hypothetical site from WGS 84 coordinates (decimal degrees, longitude first)."""
    try:
        x, y = float(str(lon).replace(",", ".")), float(str(lat).replace(",", "."))
    except ValueError:
        raise GeodataError(
            f"Coordonnées illisibles : longitude {lon!r}, latitude {lat!r}. Écrivez des degrés décimaux, ex. 1.44 et 43.60."
        ) from None
    if not (-5.5 <= x <= 10.0):
        raise GeodataError(
            f"Longitude {lon!r} hors de France métropolitaine (attendu entre -5,5 et 10) : avez-vous inversé latitude et longitude ?"
        )
    if not (41.0 <= y <= 51.5):
        raise GeodataError(
            f"Latitude {lat!r} hors de France métropolitaine (attendu entre 41 et 51,5) : avez-vous inversé latitude et longitude ?"
        )
    return Sites.from_lonlat([name or f"Site hypothétique ({y:.4f}, {x:.4f})"], [x], [y], hypothetical=True)


def parse_site(text: str, demand: Demand) -> Sites:
    """A site from the CLI: an INSEE code (``31555``) or ``LON,LAT[,NAME]``."""
    text = text.strip()
    parts = [p.strip() for p in text.split(",")]
    if len(parts) >= 2:
        return site_from_coordinates(parts[0], parts[1], ",".join(parts[2:]))
    return sites_from_communes(demand, [text])


# ----------------------------------------------------------------------------- the analysis


@dataclass
class Coverage:
    """Result of :func:`compute_coverage`: one table per commune and per QPV, and their summaries."""

    params: Params
    communes: pd.DataFrame
    qpv: pd.DataFrame | None
    n_sites: int
    n_hypothetical: int
    n_commune_level: int = 0  # sites known only at their commune (their distances are intervals)
    n_itinerant: int = 0  # counted actors declaring an intervention zone (counted only when ``params.itinerant``)

    def summary(self) -> dict:
        """Headline figures for the whole region."""
        return _summary(self.communes, self.qpv)

    def by_department(self, departements: pd.DataFrame) -> pd.DataFrame:
        """Headline figures per department, then a last row for the whole region."""
        return self._by_unit(departements[["code_departement", "nom"]], "code_departement")

    def by_epci(self, epci: pd.DataFrame) -> pd.DataFrame:
        """Headline figures per intercommunality (its Occitanie part; ``hors_region`` flags those crossing the border),
        then a last row for the whole region. A QPV counts in the EPCI of the commune that holds it."""
        return self._by_unit(epci[["code_epci", "nom", "type_epci", "hors_region"]], "code_epci")

    def _by_unit(self, units: pd.DataFrame, key: str) -> pd.DataFrame:
        codes = units[key].to_numpy()
        c = self.communes
        rural = c["rurale"].to_numpy()
        out_r = rural & ~c["a_portee"].to_numpy()
        sure = rural & (c["portee"] == OUT).to_numpy()
        maybe = rural & (c["portee"] != REACHED).to_numpy()
        pop = c["population"].to_numpy(dtype=float)
        table = pd.DataFrame(units).reset_index(drop=True)
        by = (
            pd.DataFrame({"d": c[key].to_numpy(), "r": rural, "ro": out_r, "pr": pop * rural, "pro": pop * out_r,
                          "pmin": pop * sure, "pmax": pop * maybe})
            .groupby("d")
            .sum()
            .reindex(codes, fill_value=0)
        )
        table["communes_rurales"] = by["r"].to_numpy(dtype=int)
        table["communes_rurales_hors_portee"] = by["ro"].to_numpy(dtype=int)
        table["population_rurale"] = by["pr"].to_numpy(dtype=np.int64)
        table["population_rurale_hors_portee"] = by["pro"].to_numpy(dtype=np.int64)
        table["population_rurale_hors_portee_min"] = by["pmin"].to_numpy(dtype=np.int64)
        table["population_rurale_hors_portee_max"] = by["pmax"].to_numpy(dtype=np.int64)
        table["part_population_rurale_a_portee"] = [_share(a - b, a) for a, b in zip(by["pr"], by["pro"])]
        if self.qpv is not None:
            q = self.qpv
            qpop = q["population"].astype("Float64").fillna(0).to_numpy(dtype=float)
            qout = ~q["a_portee"].to_numpy()
            byq = (
                pd.DataFrame(
                    {
                        "d": q[key].to_numpy(),
                        "n": 1,
                        "o": qout,
                        "p": qpop,
                        "po": qpop * qout,
                        "pmin": qpop * (q["portee"] == OUT).to_numpy(),
                        "pmax": qpop * (q["portee"] != REACHED).to_numpy(),
                        "u": q["population"].isna().to_numpy(),
                    }
                )
                .groupby("d")
                .sum()
                .reindex(codes, fill_value=0)
            )
            table["qpv"] = byq["n"].to_numpy(dtype=int)
            table["qpv_hors_portee"] = byq["o"].to_numpy(dtype=int)
            table["population_qpv"] = byq["p"].to_numpy(dtype=np.int64)
            table["population_qpv_hors_portee"] = byq["po"].to_numpy(dtype=np.int64)
            table["population_qpv_hors_portee_min"] = byq["pmin"].to_numpy(dtype=np.int64)
            table["population_qpv_hors_portee_max"] = byq["pmax"].to_numpy(dtype=np.int64)
            table["part_population_qpv_a_portee"] = [_share(a - b, a) for a, b in zip(byq["p"], byq["po"])]
            table["qpv_population_inconnue"] = byq["u"].to_numpy(dtype=int)
        region = {k: v for k, v in self.summary().items() if k in table.columns}
        total = pd.DataFrame([{key: REGION_CODE, "nom": "Occitanie", **region}])
        return pd.concat([table, total], ignore_index=True)


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else float("nan")


def _range(table: pd.DataFrame, population: pd.Series) -> dict:
    """Places and people surely out of reach (``_min``) and perhaps out of reach (``_max``: out or uncertain)."""
    out = (table["portee"] == OUT).to_numpy()
    maybe = (table["portee"] != REACHED).to_numpy()
    pop = population.to_numpy(dtype=float)
    return {"n_min": int(out.sum()), "n_max": int(maybe.sum()), "pop_min": int(pop[out].sum()), "pop_max": int(pop[maybe].sum())}


def _summary(communes: pd.DataFrame, qpv: pd.DataFrame | None) -> dict:
    rural = communes[communes["rurale"]]
    out_r = rural[~rural["a_portee"]]
    pop_r = int(rural["population"].sum())
    pop_out = int(out_r["population"].sum())
    rr = _range(rural, rural["population"])
    result = {
        "communes_rurales": len(rural),
        "communes_rurales_hors_portee": len(out_r),
        "communes_rurales_hors_portee_min": rr["n_min"],
        "communes_rurales_hors_portee_max": rr["n_max"],
        "population_rurale": pop_r,
        "population_rurale_hors_portee": pop_out,
        "population_rurale_hors_portee_min": rr["pop_min"],
        "population_rurale_hors_portee_max": rr["pop_max"],
        "part_population_rurale_a_portee": _share(pop_r - pop_out, pop_r),
    }
    if qpv is not None:
        out_q = qpv[~qpv["a_portee"]]
        pop_q = int(qpv["population"].fillna(0).sum())
        pop_qo = int(out_q["population"].fillna(0).sum())
        qr = _range(qpv, qpv["population"].astype("Float64").fillna(0))
        result.update(
            {
                "qpv": len(qpv),
                "qpv_hors_portee": len(out_q),
                "qpv_hors_portee_min": qr["n_min"],
                "qpv_hors_portee_max": qr["n_max"],
                "population_qpv": pop_q,
                "population_qpv_hors_portee": pop_qo,
                "population_qpv_hors_portee_min": qr["pop_min"],
                "population_qpv_hors_portee_max": qr["pop_max"],
                "part_population_qpv_a_portee": _share(pop_q - pop_qo, pop_q),
                "qpv_population_inconnue": int(qpv["population"].isna().sum()),
            }
        )
    return result


def _nearest(tree: STRtree | None, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest site or -1, straight-line distance in m or inf) for each geometry."""
    n = len(geoms)
    idx = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if tree is None or n == 0:
        return idx, dist
    pairs, d = tree.query_nearest(geoms, return_distance=True, all_matches=False)
    idx[pairs[0]] = pairs[1]
    dist[pairs[0]] = d
    return idx, dist


#: Verdicts of a place once the uncertainty of commune-level actors is taken into account.
REACHED, UNCERTAIN, OUT = "à portée", "incertain", "hors de portée"


def _farthest(demand: Demand, targets: np.ndarray, t: np.ndarray, commune: np.ndarray) -> np.ndarray:
    """For each pair ``(targets[t[i]], commune[i])``: the largest distance (m) from the target to a point of the commune.

    The farthest point of a polygon from a point, or from a convex shape, is a vertex of its convex hull; for a
    non-convex QPV the largest vertex distance is used (its pockets are small next to a commune).
    """
    if len(t) == 0:
        return np.zeros(0)
    _, hull_xy, offsets = demand.commune_hulls()
    counts = offsets[commune + 1] - offsets[commune]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    vertex = np.repeat(offsets[commune] - starts, counts) + np.arange(int(counts.sum()))
    owner = np.repeat(t, counts)
    if shapely.get_type_id(targets).max(initial=0) == 0:  # every target a point: plain arithmetic
        txy = shapely.get_coordinates(targets)[owner]
        d = np.hypot(hull_xy[vertex, 0] - txy[:, 0], hull_xy[vertex, 1] - txy[:, 1])
    else:
        d = shapely.distance(shapely.points(hull_xy[vertex]), targets[owner])
    return np.maximum.reduceat(d, starts)


def _interval(demand: Demand, sites: Sites, targets: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nearest, farthest) distance (m) from each target to the nearest site, where it may really stand.

    A point site is where it is; a site known only at its commune may be anywhere in it: from the commune's
    nearest point to its farthest one. ``dist`` (to the sites' own points) always lies between the two.
    """
    is_area = sites.area >= 0
    if not is_area.any() or len(targets) == 0:
        return dist, dist
    # Intervals depend on the sites only, not on the reaches or the detour: a slider change reuses them.
    low, high = _remember(demand, ("intervalles", id(targets), _sites_key(sites)), lambda: _interval_of(demand, sites, targets))
    # A commune-level site's own point lies in its commune; clip anyway so that low <= dist <= high holds for any input.
    return np.minimum(low, dist), np.maximum(high, dist)


def _interval_of(demand: Demand, sites: Sites, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    is_area = sites.area >= 0
    point_tree = STRtree(shapely.points(sites.xy[~is_area])) if (~is_area).any() else None
    _, d_point = _nearest(point_tree, targets)
    communes = np.unique(sites.area[is_area])
    polygons = demand.commune_hulls()[0][communes]
    area_tree = STRtree(polygons)
    nearest_area, d_area = _nearest(area_tree, targets)
    low = np.minimum(d_point, d_area)
    # Upper bound of the farthest distance: the point sites, or the whole of the nearest commune; then every
    # commune nearer than that bound is a candidate, and the best of them gives the exact value.
    everyone = np.arange(len(targets))
    bound = np.minimum(d_point, _farthest(demand, targets, everyone, communes[nearest_area]))
    t, j = area_tree.query(targets, predicate="dwithin", distance=bound + TOLERANCE_M)
    far = _farthest(demand, targets, t, communes[j])
    high = bound.copy()
    np.minimum.at(high, t, far)
    return low, high


#: How many derived results a Demand keeps (sessions share it: a few recent directories and filters, never a growing store).
DERIVED_ENTRIES = 8


def _remember(demand: Demand, key, compute):
    """``compute()``, kept on ``demand`` under ``key`` for the next analyses.

    What depends only on the sites (nearest site, distance intervals) or on the directory and its filters (counted actors)
    does not change when a reach, the detour, the rural definition, K or the QPV weight does: a slider change reuses it.
    """
    try:
        return demand._derived[key]
    except KeyError:
        pass
    value = compute()
    while len(demand._derived) >= DERIVED_ENTRIES:
        demand._derived.pop(next(iter(demand._derived), None), None)
    demand._derived[key] = value
    return value


def _sites_key(sites: Sites) -> bytes:
    """A digest of where the sites are and which are areas (their names apart)."""
    return hashlib.blake2b(sites.xy.tobytes() + sites.area.tobytes(), digest_size=16).digest()


def _nearest_sites(demand: Demand, sites: Sites) -> dict:
    """Nearest site of each commune point and each QPV (index, straight-line m) and the (QPV, site) pairs of sites inside a QPV.

    They depend on the sites only: see :func:`_remember`.
    """
    tree = STRtree(shapely.points(sites.xy)) if len(sites) else None
    out = {"communes": _nearest(tree, demand.points)}
    if demand.has_qpv:
        out["qpv"] = _nearest(tree, demand.qpv_metric)
        out["dedans"] = tree.query(demand.qpv_metric, predicate="contains") if tree is not None else np.zeros((2, 0), dtype=np.int64)
    return out


def _verdict(low: np.ndarray, high: np.ndarray, reach_m: float) -> np.ndarray:
    return np.where(high <= reach_m, REACHED, np.where(low > reach_m, OUT, UNCERTAIN)).astype(object)


def compute_coverage(demand: Demand, sites: Sites, params: Params, *, itinerant: Itinerant | None = None) -> Coverage:
    """Distance from every commune and every QPV to the nearest site, and whether it is within reach.

    Commune distances start at the commune's representative point; QPV distances are
    polygon-to-point, hence 0 when a site lies inside the QPV. ``distance_km`` is the straight
    line times ``params.detour_factor``. With ``itinerant`` zones and ``params.itinerant``, the communes and
    QPV of the zones are « à portée » whatever the distance (see :func:`_count_itinerant`).
    """
    params.validate()
    key = f"rural_{params.rural_definition}"
    if key not in demand.communes.columns:
        raise GeodataError(
            f"La définition du rural {params.rural_definition!r} n'est pas disponible : fournissez sa table INSEE "
            f"(disponibles : {sorted(demand.rural_definitions)!r})."
        )
    near = _remember(demand, ("plus proches", _sites_key(sites)), lambda: _nearest_sites(demand, sites))
    idx, dist = near["communes"]
    detour = params.detour_factor
    c = demand.communes[[col for col in demand.communes.columns if not col.startswith("rural_")]].copy()
    c["rurale"] = demand.communes[key].fillna(False).astype(bool).to_numpy()
    c["rurale_inconnue"] = demand.communes[key].isna().to_numpy()
    c["distance_vol_oiseau_km"] = np.round(dist / 1000.0, 3)
    c["distance_km"] = np.round(dist * detour / 1000.0, 3)
    c["a_portee"] = dist <= params.rural_reach_m
    c["site_le_plus_proche"] = np.where(idx >= 0, sites.names[np.maximum(idx, 0)] if len(sites) else "", "")
    low, high = _interval(demand, sites, demand.points, dist)
    c["distance_min_km"] = np.round(low * detour / 1000.0, 3)
    c["distance_max_km"] = np.round(high * detour / 1000.0, 3)
    c["portee"] = _verdict(low, high, params.rural_reach_m)
    q = None
    if demand.has_qpv:
        qidx, qdist = near["qpv"]
        q = demand.qpv.copy()
        inside_names = [[] for _ in range(len(q))]
        pairs = near["dedans"]
        for qi, si in zip(pairs[0], pairs[1]):
            inside_names[qi].append(sites.names[si])
        q["nb_acteurs_dedans"] = [len(n) for n in inside_names]
        q["acteurs_dedans"] = ["; ".join(sorted(n)) for n in inside_names]
        q["distance_vol_oiseau_km"] = np.round(qdist / 1000.0, 3)
        q["distance_km"] = np.round(qdist * detour / 1000.0, 3)
        q["a_portee"] = qdist <= params.qpv_reach_m
        q["site_le_plus_proche"] = np.where(qidx >= 0, sites.names[np.maximum(qidx, 0)] if len(sites) else "", "")
        qlow, qhigh = _interval(demand, sites, demand.qpv_metric, qdist)
        q["distance_min_km"] = np.round(qlow * detour / 1000.0, 3)
        q["distance_max_km"] = np.round(qhigh * detour / 1000.0, 3)
        q["portee"] = _verdict(qlow, qhigh, params.qpv_reach_m)
    n_itinerant = 0 if itinerant is None else len(itinerant)
    if n_itinerant and params.itinerant:
        _count_itinerant(demand, itinerant, c, q)
    return Coverage(params, c, q, len(sites), int(sites.hypothetical.sum()), sites.n_commune_level, n_itinerant)


@dataclass(frozen=True)
class Itinerant:
    """The intervention zones of itinerant offers (:mod:`geodata.zones`), expanded to the communes of a :class:`Demand`."""

    names: np.ndarray  # object array: the name of each actor declaring a zone
    zone: np.ndarray  # pairs (zone, commune): index into ``names``
    commune: np.ndarray  # pairs (zone, commune): row of ``Demand.communes``

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_actors(cls, actors: pd.DataFrame, demand: Demand) -> Itinerant:
        """The zones declared by ``actors`` (column ``zone_intervention``; actors without one are left out)."""
        none = cls(np.array([], dtype=object), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if "zone_intervention" not in actors.columns:
            return none
        declared = actors[actors["zone_intervention"].fillna("").astype(str).str.strip() != ""]
        if declared.empty:  # the usual case: nothing to expand at each rerun
            return none
        zone, commune = communes_in_zones(declared["zone_intervention"].astype(str), demand.communes)
        names = declared["nom"].astype(str).to_numpy(dtype=object) if "nom" in declared else np.full(len(declared), "", dtype=object)
        return cls(names, zone, commune)


def _count_itinerant(demand: Demand, itinerant: Itinerant, c: pd.DataFrame, q: pd.DataFrame | None) -> None:
    """Mark the places of the zones « à portée »; ``itinerance_seule`` flags those that only a zone reaches.

    A QPV is in a zone when the commune holding its representative point is (``Demand.qpv_commune``). « Only a
    zone » follows the central figure: the place is out of reach at the distance of the nearest site's point.
    """
    covered = np.zeros(len(c), dtype=bool)
    covered[itinerant.commune] = True
    pairs = pd.DataFrame({"commune": itinerant.commune, "nom": itinerant.names[itinerant.zone]}).drop_duplicates()
    by_commune = pairs.sort_values(["commune", "nom"]).groupby("commune")["nom"].agg("; ".join)
    names = by_commune.reindex(np.arange(len(c)), fill_value="").to_numpy(dtype=object)
    tables = [(c, covered, names)]
    if q is not None and demand.qpv_commune is not None:
        rows = demand.qpv_commune
        inside = rows >= 0
        q_covered = np.where(inside, covered[np.maximum(rows, 0)], False)
        tables.append((q, q_covered, np.where(q_covered, names[np.maximum(rows, 0)], "").astype(object)))
    for table, hit, who in tables:
        table["offres_itinerantes"] = who
        table["itinerance_seule"] = hit & ~table["a_portee"].to_numpy()
        table["a_portee"] = table["a_portee"].to_numpy() | hit
        table["portee"] = np.where(hit, REACHED, table["portee"].to_numpy()).astype(object)


def itinerant_summary(coverage: Coverage) -> dict | None:
    """What itinerant offers add: communes, QPV and people that only a zone puts within reach (``None`` when none is counted)."""
    c = coverage.communes
    if "itinerance_seule" not in c.columns:
        return None
    only = c["rurale"].to_numpy() & c["itinerance_seule"].to_numpy()
    out = {
        "acteurs": coverage.n_itinerant,
        "communes_rurales": int(only.sum()),
        "population_rurale": int(c["population"].to_numpy(dtype=float)[only].sum()),
    }
    if coverage.qpv is not None and "itinerance_seule" in coverage.qpv.columns:
        q_only = coverage.qpv["itinerance_seule"].to_numpy(dtype=bool)
        out["qpv"] = int(q_only.sum())
        out["population_qpv"] = int(coverage.qpv["population"].astype("Float64").fillna(0).to_numpy(dtype=float)[q_only].sum())
    return out


def rural_gaps(coverage: Coverage) -> pd.DataFrame:
    """Rural communes out of reach, most populated first."""
    c = coverage.communes
    gaps = c[c["rurale"] & ~c["a_portee"]]
    return gaps.sort_values(["population", "code_insee"], ascending=[False, True]).reset_index(drop=True)


def qpv_gaps(coverage: Coverage) -> pd.DataFrame | None:
    """QPV out of reach, most populated first (``None`` without the QPV layer)."""
    if coverage.qpv is None:
        return None
    q = coverage.qpv
    gaps = q[~q["a_portee"]]
    # The sort key comes from the gaps themselves: assigning q's column to an empty frame would adopt q's index (NaN rows).
    gaps = gaps.assign(_pop=gaps["population"].astype("Float64").fillna(0))
    return gaps.sort_values(["_pop", "code_qp"], ascending=[False, True]).drop(columns="_pop").reset_index(drop=True)


# ----------------------------------------------------------------------------- where next (greedy maximal coverage)


def _coverage_pairs(demand: Demand, coverage: Coverage) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Sparse candidate -> uncovered demand pairs and the weight of each demand item.

    Demand items are the uncovered rural communes, then the uncovered QPV. Returns
    ``(candidate, item, rural_pop, qpv_pop, n_rural_items)`` where the population arrays are
    indexed by item.
    """
    params = coverage.params
    c = coverage.communes
    rural_items = np.flatnonzero((c["rurale"] & ~c["a_portee"]).to_numpy())
    pr = demand.candidate_tree.query(demand.points[rural_items], predicate="dwithin", distance=params.rural_reach_m)
    cand, item = [pr[1]], [pr[0]]
    rural_pop = c["population"].to_numpy(dtype=float)[rural_items]
    qpv_pop = np.zeros(0)
    if coverage.qpv is not None:
        q_items = np.flatnonzero((~coverage.qpv["a_portee"]).to_numpy())
        pq = demand.candidate_tree.query(demand.qpv_metric[q_items], predicate="dwithin", distance=params.qpv_reach_m)
        cand.append(pq[1])
        item.append(pq[0] + len(rural_items))
        qpv_pop = coverage.qpv["population"].astype("Float64").fillna(0).to_numpy(dtype=float)[q_items]
    r = np.concatenate([rural_pop, np.zeros(len(qpv_pop))])
    qp = np.concatenate([np.zeros(len(rural_items)), qpv_pop])
    return np.concatenate(cand), np.concatenate(item), r, qp, len(rural_items)


def where_next(demand: Demand, coverage: Coverage, k: int, *, candidates: np.ndarray | None = None) -> pd.DataFrame:
    """Greedy maximal coverage: the ``k`` communes whose representative point would bring the most
    uncovered people within reach, one step after another.

    The score of a step is ``(1 - w) × rural inhabitants + w × QPV inhabitants`` newly within
    reach, with ``w = params.qpv_weight``. Candidates are every commune's representative point;
    ties go to the smallest INSEE code. Stops early when no candidate brings anyone.
    ``candidates`` (boolean, one per commune of ``demand``) keeps the proposals inside a territory.
    Returns one row per step: the commune, its point, the gain of the step and the running totals.
    """
    if not isinstance(k, (int, np.integer)) or k < 0 or k > 200:
        raise GeodataError(f"Le nombre de sites à proposer {k!r} doit être un entier entre 0 et 200.")
    w = coverage.params.qpv_weight
    cand, item, rpop, qpop, n_rural = _coverage_pairs(demand, coverage)
    if candidates is not None:
        keep = np.asarray(candidates, dtype=bool)[cand]
        cand, item = cand[keep], item[keep]
    weight = (1.0 - w) * rpop + w * qpop
    alive = np.ones(len(weight), dtype=bool)
    n_cand = len(demand.points)
    # Candidate-sorted CSR view, to find the items a chosen candidate covers without a full scan.
    order = np.argsort(cand, kind="stable")
    cand_sorted, item_sorted = cand[order], item[order]
    starts = np.searchsorted(cand_sorted, np.arange(n_cand + 1))
    communes = demand.communes
    qpv_codes = coverage.qpv["code_qp"].to_numpy() if coverage.qpv is not None else np.array([])
    q_items = np.flatnonzero((~coverage.qpv["a_portee"]).to_numpy()) if coverage.qpv is not None else np.array([], dtype=int)
    code_rank = np.argsort(np.argsort(communes["code_insee"].to_numpy(dtype=str), kind="stable"), kind="stable")
    steps = []
    tot_r = tot_q = 0.0
    for step in range(1, k + 1):
        live = alive[item]
        score = np.bincount(cand[live], weights=weight[item[live]], minlength=n_cand)
        # Count people as well as weight, so a zero-weight population still breaks ties the same way.
        people = np.bincount(cand[live], weights=(rpop + qpop)[item[live]], minlength=n_cand)
        best = int(np.lexsort((code_rank, -people, -score))[0])
        if score[best] <= 0 and people[best] <= 0:
            break
        covered = item_sorted[starts[best] : starts[best + 1]]
        covered = covered[alive[covered]]
        alive[covered] = False
        g_r = float(rpop[covered].sum())
        g_q = float(qpop[covered].sum())
        tot_r += g_r
        tot_q += g_q
        new_qpv = [qpv_codes[q_items[i - n_rural]] for i in covered if i >= n_rural]
        steps.append(
            {
                "etape": step,
                "code_insee": communes.at[best, "code_insee"],
                "nom": communes.at[best, "nom"],
                "code_departement": communes.at[best, "code_departement"],
                "code_epci": communes.at[best, "code_epci"] if "code_epci" in communes else None,
                "nom_epci": communes.at[best, "nom_epci"] if "nom_epci" in communes else None,
                "lon": float(communes.at[best, "point_lon"]),
                "lat": float(communes.at[best, "point_lat"]),
                "gain_score": round(float(score[best]), 1),
                "gain_population_rurale": int(round(g_r)),
                "gain_communes_rurales": int((covered < n_rural).sum()),
                "gain_population_qpv": int(round(g_q)),
                "gain_qpv": len(new_qpv),
                "qpv_couverts": ", ".join(new_qpv),
                "cumul_population_rurale": int(round(tot_r)),
                "cumul_population_qpv": int(round(tot_q)),
            }
        )
    columns = [
        "etape", "code_insee", "nom", "code_departement", "code_epci", "nom_epci", "lon", "lat", "gain_score", "gain_population_rurale", "gain_communes_rurales",
        "gain_population_qpv", "gain_qpv", "qpv_couverts", "cumul_population_rurale", "cumul_population_qpv",
    ]  # fmt: skip
    return pd.DataFrame(steps, columns=columns)


def sites_from_steps(steps: pd.DataFrame) -> Sites:
    """The communes proposed by :func:`where_next` as hypothetical sites."""
    return Sites.from_lonlat(
        [f"Proposition {e} : {n}" for e, n in zip(steps["etape"], steps["nom"])], steps["lon"], steps["lat"], hypothetical=True
    )


# ----------------------------------------------------------------------------- method, layers, export


def _points(lon, lat) -> gpd.GeoSeries:
    return gpd.GeoSeries(gpd.points_from_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)), crs=CRS_STORAGE)


def layers(
    demand: Demand, coverage: Coverage, *, steps: pd.DataFrame | None = None, sites: Sites | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Every gap layer and table as GeoDataFrames in EPSG:4326 (keys of :data:`LAYERS` that apply)."""
    out: dict[str, gpd.GeoDataFrame] = {}
    c = coverage.communes.drop(columns=["rurale_inconnue"])
    gaps = rural_gaps(coverage).drop(columns=["rurale_inconnue"])
    geom = demand.commune_geometry.set_axis(demand.communes["code_insee"].to_numpy())
    out["communes_rurales_hors_portee"] = gpd.GeoDataFrame(gaps, geometry=geom.loc[gaps["code_insee"]].to_numpy(), crs=CRS_STORAGE)
    out["communes"] = gpd.GeoDataFrame(c, geometry=_points(c["point_lon"], c["point_lat"]).to_numpy(), crs=CRS_STORAGE)
    if coverage.qpv is not None:
        qgeom = demand.qpv_geometry.set_axis(demand.qpv["code_qp"].to_numpy())
        qg = qpv_gaps(coverage)
        out["qpv_hors_portee"] = gpd.GeoDataFrame(qg, geometry=qgeom.loc[qg["code_qp"]].to_numpy(), crs=CRS_STORAGE)
        out["qpv"] = gpd.GeoDataFrame(coverage.qpv, geometry=qgeom.loc[coverage.qpv["code_qp"]].to_numpy(), crs=CRS_STORAGE)
    deps = coverage.by_department(demand.departements)
    dgeom = demand.departements.set_index("code_departement").geometry
    out["departements"] = gpd.GeoDataFrame(deps, geometry=[dgeom.get(code) for code in deps["code_departement"]], crs=CRS_STORAGE)
    if demand.epci is not None and "code_epci" in coverage.communes.columns:
        by_epci = coverage.by_epci(demand.epci)
        egeom = demand.epci.set_index("code_epci").geometry
        out["epci"] = gpd.GeoDataFrame(by_epci, geometry=[egeom.get(code) for code in by_epci["code_epci"]], crs=CRS_STORAGE)
    if steps is not None:
        out["ou_agir"] = gpd.GeoDataFrame(steps, geometry=_points(steps["lon"], steps["lat"]).to_numpy(), crs=CRS_STORAGE)
    if sites is not None and len(sites):
        lon, lat = sites.lonlat()
        hyp = pd.DataFrame({"nom": sites.names.astype(str), "lon": np.round(lon, 6), "lat": np.round(lat, 6)})
        out["sites_hypothetiques"] = gpd.GeoDataFrame(hyp, geometry=_points(lon, lat).to_numpy(), crs=CRS_STORAGE)
    return out


def to_bytes(layer: gpd.GeoDataFrame, fmt: str) -> bytes:
    """A layer as GeoJSON (RFC 7946) or CSV (no geometry; points keep lon/lat), by :mod:`geodata.writers`."""
    return layer_bytes(layer, fmt)


def with_params(params: Params, **changes) -> Params:
    """A validated copy of ``params`` with ``changes``."""
    return replace(params, **changes).validate()


#: Gap layers offered by the export page and ``python -m geodata export`` (prefixed ``couverture_``).
GAP_LAYER_TITLES = {
    "couverture_communes_rurales_hors_portee": "Couverture : communes rurales hors de portée",
    "couverture_qpv_hors_portee": "Couverture : QPV hors de portée",
    "couverture_qpv": "Couverture : tous les QPV avec leur distance",
    "couverture_communes": "Couverture : toutes les communes avec leur distance",
    "couverture_departements": "Couverture : chiffres par département",
    "couverture_epci": "Couverture : chiffres par intercommunalité (EPCI)",
    "couverture_ou_agir": "Couverture : où agir ensuite (K = 10)",
}


@dataclass(frozen=True)
class Analysis:
    """Everything one coverage analysis produces, as the page, the CLI and the exports show it."""

    params: Params
    demand: Demand
    counted: gpd.GeoDataFrame  # the actors counted (placed and matching the filters)
    hypothetical: Sites
    sites: Sites  # counted actors, then hypothetical sites
    coverage: Coverage
    before: dict | None  # headline figures without the hypothetical sites (None when there are none)
    steps: pd.DataFrame  # where next (:func:`where_next`)
    layers: dict[str, gpd.GeoDataFrame]  # keys of :data:`LAYERS` that apply


def analyse(demand: Demand, actors: gpd.GeoDataFrame, params: Params | None = None, *, hypothetical: Sites | None = None, k: int = 10) -> Analysis:
    """The coverage pipeline, in one place: counted actors -> sites (+ hypothetical ones) -> coverage -> where next -> layers.

    Parameters
    ----------
    demand
        From :func:`demand_from_territory` (prepared once, reused across analyses).
    actors
        The directory (EPSG:4326); :func:`counted_actors` keeps those the analysis counts.
    params
        Reaches, rural definition, detour, filters and QPV weight (defaults: :class:`Params`).
    hypothetical
        Imaginary sites added to the counted actors ("what if"); ``before`` then holds the figures without them.
    k
        Number of communes proposed by :func:`where_next`.

    The zones declared by the counted actors (itinerant offers) count when ``params.itinerant`` (see :class:`Itinerant`).
    """
    params = (params or Params()).validate()
    hypothetical = hypothetical if hypothetical is not None else Sites.empty()
    # The counted actors, their sites and their itinerant zones depend on the directory and the filters only (the
    # directory is read-only; the entry holds it, so no other frame can take its id while the entry lives).
    _, counted, actor_sites, itinerant = _remember(
        demand, ("acteurs", id(actors), params.selection()), lambda: _counted_sites(demand, actors, params)
    )
    sites = actor_sites + hypothetical
    result = compute_coverage(demand, sites, params, itinerant=itinerant)
    before = compute_coverage(demand, actor_sites, params, itinerant=itinerant).summary() if len(hypothetical) else None
    steps = where_next(demand, result, k)
    out = layers(demand, result, steps=steps, sites=hypothetical)
    return Analysis(params, demand, counted, hypothetical, sites, result, before, steps, out)


def _counted_sites(demand: Demand, actors: gpd.GeoDataFrame, params: Params) -> tuple:
    counted = counted_actors(actors, params)
    return actors, counted, sites_from_actors(counted, demand), Itinerant.from_actors(counted, demand)


def gap_layers(territory, actors: gpd.GeoDataFrame, params: Params | None = None, *, k: int = 10) -> dict[str, gpd.GeoDataFrame]:
    """Every gap layer for the given actors, with default parameters unless ``params``, prefixed ``couverture_``."""
    analysis = analyse(demand_from_territory(territory), actors, params, k=k)
    return {f"couverture_{name}": layer for name, layer in analysis.layers.items()}
