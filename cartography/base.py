"""Base map of Occitanie: local Leaflet assets, base layers with attributions, department outlines."""

from __future__ import annotations

import folium
import geopandas as gpd

from cartography.assets import STREAMLIT_PREFIX, asset_urls
from cartography.escape import escape_text

OCCITANIE_BOUNDS = [[42.33, -0.33], [45.05, 4.85]]  # [[south, west], [north, east]]
CENTER = (43.7, 2.3)

PLAN_IGN = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"
    "&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
BASE_LAYERS = {
    "plan_ign": ("Plan IGN", PLAN_IGN, '&copy; <a href="https://www.ign.fr/">IGN</a> – Géoplateforme'),
    "osm": ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", '&copy; contributeurs <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'),
    "aucun": ("Aucun fond", None, ""),
}
OUTLINE_STYLE = {"color": "#37474f", "weight": 1.5, "fill": False}


def use_local_assets(element, prefix: str = STREAMLIT_PREFIX) -> None:
    """Point a folium element's scripts and stylesheets at the app's own copies (never a CDN)."""
    js, css = asset_urls(prefix)
    element.default_js = [(n, u) for n, u in js if n == "leaflet"]
    element.default_css = [(n, u) for n, u in css if n == "leaflet_css"]


def base_map(
    departements: gpd.GeoDataFrame | None = None,
    *,
    base: str = "plan_ign",
    prefix: str = STREAMLIT_PREFIX,
    location=CENTER,
    zoom: int | None = None,
) -> folium.Map:
    """A map of Occitanie with the chosen base layer first, the others switchable, and department outlines.

    Department outlines are always drawn so the map reads even when tiles cannot load.
    """
    m = folium.Map(location=location, zoom_start=zoom or 7, tiles=None, max_zoom=18, min_zoom=5, control_scale=True, prefer_canvas=True)
    use_local_assets(m, prefix)
    if zoom is None:
        m.fit_bounds(OCCITANIE_BOUNDS)
    order = [base] + [k for k in BASE_LAYERS if k != base]
    for key in order:
        name, url, attribution = BASE_LAYERS[key]
        if url is None:
            continue
        folium.TileLayer(tiles=url, attr=attribution, name=name, max_zoom=18, show=key == base, overlay=False).add_to(m)
    if departements is not None:
        outlines = departements[["code_departement", "nom", "geometry"]].copy()
        outlines["nom"] = outlines["nom"].map(escape_text)
        outlines["geometry"] = outlines.geometry.simplify(0.002, preserve_topology=True)
        folium.GeoJson(
            outlines.to_json(),
            name="Départements",
            style_function=lambda _: OUTLINE_STYLE,
            tooltip=folium.GeoJsonTooltip(fields=["nom"], labels=False),
            control=False,
        ).add_to(m)
    return m
