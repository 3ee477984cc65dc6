"""Map of coverage gaps: rural communes and QPV out of reach, actors' reach, proposed and hypothetical sites."""

from __future__ import annotations

import json
import weakref

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cartography.assets import STREAMLIT_PREFIX
from cartography.base import base_map
from cartography.escape import escape_text
from geodata import number_format
from geodata.coverage import Coverage, Demand, Sites, qpv_gaps, rural_gaps
from geodata.reference import CRS_METRIC, CRS_STORAGE

COLORS = {
    "rural_gap": "#d9480f",
    "qpv_gap": "#c2255c",
    "qpv_ok": "#2b8a3e",
    "actor": "#1c3d5a",
    "reach": "#4dabf7",
    "next": "#7048e8",
    "hypothetical": "#e67700",
}
#: Above this many sites, the reach zone (a union of discs) is not drawn: it would be slow and unreadable.
MAX_REACH_SITES = 5_000
#: Above this many actors, actors are not drawn one by one (the public map shows them).
MAX_ACTOR_POINTS = 5_000
SIMPLIFY_M = 200.0


def _n(value) -> str:
    return number_format.integer(value, missing="inconnue")


def _km(value) -> str:
    return number_format.km(value, missing="aucun acteur")


def _verdicts(table: pd.DataFrame) -> list[str]:
    """The verdict of each place, with the distance range when actors known only at their commune make it uncertain,
    or the itinerant offers whose zone reaches it."""
    zones = table["offres_itinerantes"] if "offres_itinerantes" in table.columns else [""] * len(table)
    return [
        f"{v} (offre itinérante : {z})" if z else v if _km(lo) == _km(hi) else f"{v} (acteur le plus proche entre {_km(lo)} et {_km(hi)})"
        for v, lo, hi, z in zip(table["portee"], table["distance_min_km"], table["distance_max_km"], zones)
    ]


def _simplified(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Simplify in metres (the layer stays light) and come back to lon/lat."""
    simple = geoms.to_crs(CRS_METRIC).simplify(SIMPLIFY_M, preserve_topology=True).to_crs(CRS_STORAGE)
    # Five decimals of a degree are about a metre: enough on screen, and the HTML shrinks by half.
    return gpd.GeoSeries(shapely.transform(simple.to_numpy(), lambda xy: np.round(xy, 5)), crs=CRS_STORAGE)


def _geojson(frame: pd.DataFrame, geometry, fields: list[str]) -> str:
    """GeoJSON text whose every property is already escaped text."""
    columns = {f: [escape_text(v) for v in frame[f]] for f in fields}
    # shapely.to_geojson is vectorised C: several times faster than GeoDataFrame.to_json on 2,000 communes.
    geoms = shapely.to_geojson(np.asarray(list(geometry), dtype=object))
    features = [
        f'{{"type":"Feature","properties":{json.dumps({f: columns[f][i] for f in fields}, ensure_ascii=False)},"geometry":{g}}}'
        for i, g in enumerate(geoms)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _tooltip(fields: list[str], aliases: list[str]) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(fields=fields, aliases=[escape_text(a) for a in aliases], sticky=True)


_SIMPLIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _simplified_communes(demand: Demand) -> gpd.GeoSeries:
    """Simplified commune outlines indexed by INSEE code, computed once per prepared territory."""
    if demand not in _SIMPLIFIED:
        simple = _simplified(demand.commune_geometry)
        _SIMPLIFIED[demand] = simple.set_axis(demand.communes["code_insee"].to_numpy())
    return _SIMPLIFIED[demand]


def _rural_layer(demand: Demand, coverage: Coverage) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Communes rurales hors de portée", show=True)
    gaps = rural_gaps(coverage)
    if gaps.empty:
        return group
    geom = _simplified_communes(demand).loc[gaps["code_insee"]]
    frame = pd.DataFrame(
        {
            "nom": gaps["nom"].to_numpy(),
            "code": gaps["code_insee"].to_numpy(),
            "population": [_n(p) for p in gaps["population"]],
            "distance": [_km(d) for d in gaps["distance_km"]],
            "proche": gaps["site_le_plus_proche"].to_numpy(),
            "verdict": _verdicts(gaps),
        }
    )
    style = {"color": COLORS["rural_gap"], "weight": 0.6, "fillColor": COLORS["rural_gap"], "fillOpacity": 0.45}
    folium.GeoJson(
        _geojson(frame, geom.to_numpy(), list(frame.columns)),
        style_function=lambda _: style,
        tooltip=_tooltip(list(frame.columns), ["Commune", "Code INSEE", "Population", "Acteur le plus proche à", "Acteur le plus proche", "Verdict"]),
    ).add_to(group)
    return group


def _qpv_layers(demand: Demand, coverage: Coverage) -> list[folium.FeatureGroup]:
    if coverage.qpv is None:
        return []
    q = coverage.qpv
    frame = pd.DataFrame(
        {
            "nom": q["nom_qp"].to_numpy(),
            "code": q["code_qp"].to_numpy(),
            "communes": q["communes"].to_numpy(),
            "population": [_n(p) if pd.notna(p) else "inconnue" for p in q["population"]],
            "distance": [_km(d) for d in q["distance_km"]],
            "dedans": [f"{n} : {names}" if n else "aucun" for n, names in zip(q["nb_acteurs_dedans"], q["acteurs_dedans"])],
            "verdict": _verdicts(q),
        }
    )
    aliases = ["QPV", "Code", "Commune(s)", "Population", "Acteur le plus proche à", "Acteurs dans le quartier", "Verdict"]
    groups = []
    gaps = set(qpv_gaps(coverage)["code_qp"])
    for out, name, color in ((True, "QPV hors de portée", COLORS["qpv_gap"]), (False, "QPV à portée", COLORS["qpv_ok"])):
        mask = q["code_qp"].isin(gaps).to_numpy() == out
        group = folium.FeatureGroup(name=name, show=True)
        if mask.any():
            geoms = demand.qpv_geometry[mask]
            style = {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.5 if out else 0.25}
            folium.GeoJson(
                _geojson(frame[mask], geoms, list(frame.columns)),
                style_function=lambda _, s=style: s,
                tooltip=_tooltip(list(frame.columns), aliases),
            ).add_to(group)
            # QPV are too small to see at the scale of the region: a dot marks each one.
            dots = gpd.GeoSeries(geoms.to_numpy(), crs=CRS_STORAGE).to_crs(CRS_METRIC).representative_point().to_crs(CRS_STORAGE)
            folium.GeoJson(
                _geojson(frame[mask], dots, list(frame.columns)),
                marker=folium.CircleMarker(radius=5, color="#ffffff", weight=1, fill=True, fill_color=color, fill_opacity=0.95),
                tooltip=_tooltip(list(frame.columns), aliases),
            ).add_to(group)
        groups.append(group)
    return groups


def _sites_points(sites: Sites) -> gpd.GeoSeries:
    lon, lat = sites.lonlat()
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=CRS_STORAGE)


def _reach_layer(sites: Sites, radius_m: float) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Zone à portée (communes rurales)", show=True)
    if len(sites) == 0 or len(sites) > MAX_REACH_SITES:
        return group
    # Actors placed at their commune share its point: one disc per distinct point gives the same union, sooner.
    zone = shapely.union_all(shapely.buffer(shapely.points(np.unique(sites.xy, axis=0)), radius_m, quad_segs=8))
    zone = gpd.GeoSeries([zone], crs=CRS_METRIC).simplify(SIMPLIFY_M).to_crs(CRS_STORAGE)
    style = {"color": COLORS["reach"], "weight": 1, "fillColor": COLORS["reach"], "fillOpacity": 0.12}
    # shapely.to_geojson is C; GeoSeries.to_json walks the coordinates of the union in Python.
    zone_geometry = json.loads(shapely.to_geojson(zone.iloc[0]))
    feature = {"type": "Feature", "properties": {}, "geometry": zone_geometry}
    folium.GeoJson(feature, style_function=lambda _: style, interactive=False).add_to(group)
    return group


def _actor_layer(sites: Sites) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Acteurs comptés", show=True)
    actors = Sites(sites.names[~sites.hypothetical], sites.xy[~sites.hypothetical], sites.hypothetical[~sites.hypothetical])
    if len(actors) == 0 or len(actors) > MAX_ACTOR_POINTS:
        return group
    frame = pd.DataFrame({"nom": actors.names})
    folium.GeoJson(
        _geojson(frame, _sites_points(actors), ["nom"]),
        marker=folium.CircleMarker(radius=4, color="#ffffff", weight=1, fill=True, fill_color=COLORS["actor"], fill_opacity=0.9),
        tooltip=_tooltip(["nom"], ["Acteur"]),
    ).add_to(group)
    return group


def _badge(text: str, color: str) -> folium.DivIcon:
    html = (
        f'<div style="background:{color};color:#fff;border:2px solid #fff;border-radius:50%;width:24px;height:24px;'
        f'line-height:20px;text-align:center;font:bold 12px sans-serif;box-shadow:0 0 3px #000">{escape_text(text)}</div>'
    )
    return folium.DivIcon(html=html, icon_size=(24, 24), icon_anchor=(12, 12))


def _steps_layer(steps: pd.DataFrame, radius_m: float) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Où agir ensuite", show=True)
    for row in steps.itertuples(index=False):
        gain = row.gain_population_rurale + row.gain_population_qpv
        tip = escape_text(f"Étape {row.etape} : {row.nom} ({row.code_insee}), +{_n(gain)} habitants à portée")
        folium.Circle((row.lat, row.lon), radius=radius_m, color=COLORS["next"], weight=1.5, fill=False, dash_array="6 4").add_to(group)
        folium.Marker((row.lat, row.lon), icon=_badge(str(row.etape), COLORS["next"]), tooltip=tip).add_to(group)
    return group


def _hypothetical_layer(sites: Sites, radius_m: float) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="Sites hypothétiques", show=True)
    if len(sites) == 0:
        return group
    lon, lat = sites.lonlat()
    for name, x, y in zip(sites.names, lon, lat):
        folium.Circle((y, x), radius=radius_m, color=COLORS["hypothetical"], weight=1.5, fill=False).add_to(group)
        folium.Marker((y, x), icon=_badge("+", COLORS["hypothetical"]), tooltip=escape_text(name)).add_to(group)
    return group


LEGEND = [
    ("rural_gap", "Commune rurale hors de portée"),
    ("qpv_gap", "QPV hors de portée"),
    ("qpv_ok", "QPV à portée"),
    ("actor", "Acteur compté"),
    ("reach", "Zone à portée (communes rurales)"),
    ("next", "Où agir ensuite (n° d'étape)"),
    ("hypothetical", "Site hypothétique"),
]


def _legend(keys: list[str]) -> folium.Element:
    items = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;margin-right:6px;background:{COLORS[k]};opacity:.8"></span>'
        f"{escape_text(label)}</div>"
        for k, label in LEGEND
        if k in keys
    )
    return folium.Element(
        '<div style="position:fixed;bottom:40px;left:10px;z-index:1000;background:rgba(255,255,255,.92);padding:6px 8px;'
        f'border-radius:4px;font:12px sans-serif;box-shadow:0 0 4px rgba(0,0,0,.3)">{items}</div>'
    )


def coverage_map(
    demand: Demand,
    coverage: Coverage,
    sites: Sites,
    *,
    steps: pd.DataFrame | None = None,
    base: str = "plan_ign",
    prefix: str = STREAMLIT_PREFIX,
) -> folium.Map:
    """A folium map of the coverage gaps.

    Parameters
    ----------
    demand, coverage
        The prepared territory and the result of :func:`geodata.coverage.compute_coverage`.
    sites
        The sites used for ``coverage`` (counted actors and hypothetical sites).
    steps
        Output of :func:`geodata.coverage.where_next`, drawn as numbered markers.
    base, prefix
        Base layer and asset prefix, passed to :func:`cartography.base.base_map`.
    """
    m = base_map(demand.departements, base=base, prefix=prefix)
    radius = coverage.params.rural_reach_m
    _reach_layer(sites, radius).add_to(m)
    _rural_layer(demand, coverage).add_to(m)
    keys = ["rural_gap", "actor", "reach"]
    for group in _qpv_layers(demand, coverage):
        group.add_to(m)
        keys += ["qpv_gap", "qpv_ok"]
    _actor_layer(sites).add_to(m)
    if steps is not None and len(steps):
        _steps_layer(steps, radius).add_to(m)
        keys.append("next")
    hyp = sites.hypothetical
    if hyp.any():
        _hypothetical_layer(Sites(sites.names[hyp], sites.xy[hyp], hyp[hyp]), radius).add_to(m)
        keys.append("hypothetical")
    folium.LayerControl(collapsed=True).add_to(m)
    m.get_root().html.add_child(_legend(keys))
    return m


def map_size(m: folium.Map) -> int:
    """Size in bytes of the map's HTML (for benchmarks)."""
    return len(m.get_root().render().encode("utf-8"))
