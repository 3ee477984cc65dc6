"""Base map of Occitanie: local Leaflet assets, base layers with attributions, department outlines."""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cartography.assets import STREAMLIT_PREFIX, asset_urls
from cartography.escape import escape_text
from geodata.reference import OCCITANIE_BBOX
from geodata.writers import to_geojson

# Leaflet wants [[south, west], [north, east]].
OCCITANIE_BOUNDS = [[OCCITANIE_BBOX[1], OCCITANIE_BBOX[0]], [OCCITANIE_BBOX[3], OCCITANIE_BBOX[2]]]
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

#: Simplification of the department outlines drawn at every zoom (degrees; ~300 m) and their coordinate grid.
OUTLINE_TOLERANCE = 0.003
OUTLINE_GRID = 0.0001

_OUTLINE_CACHE: dict[tuple, dict] = {}


def use_local_assets(element, prefix: str = STREAMLIT_PREFIX) -> None:
    """Point a folium element's scripts and stylesheets at the app's own copies (never a CDN)."""
    js, css = asset_urls(prefix)
    element.default_js = [(n, u) for n, u in js if n == "leaflet"]
    element.default_css = [(n, u) for n, u in css if n == "leaflet_css"]


def simplified(gdf: gpd.GeoDataFrame, *, tolerance: float, grid: float) -> gpd.GeoDataFrame:
    """``gdf`` with geometries simplified (degrees) and snapped to a grid, for light GeoJSON."""
    out = gdf.copy()
    geoms = shapely.simplify(out.geometry.to_numpy(), tolerance, preserve_topology=True)
    out["geometry"] = shapely.set_precision(geoms, grid, mode="pointwise")
    return out


def _fingerprint(gdf: gpd.GeoDataFrame) -> tuple:
    return (len(gdf), tuple(gdf["code_departement"]), tuple(gdf["nom"]), round(float(shapely.area(gdf.geometry.to_numpy()).sum()), 9))


def outlines_geojson(departements: gpd.GeoDataFrame) -> dict:
    """Simplified department outlines as a GeoJSON dict, names escaped (memoised: drawn on every map)."""
    key = _fingerprint(departements)
    if key not in _OUTLINE_CACHE:
        outlines = simplified(departements[["code_departement", "nom", "geometry"]], tolerance=OUTLINE_TOLERANCE, grid=OUTLINE_GRID)
        outlines["nom"] = outlines["nom"].map(escape_text)
        _OUTLINE_CACHE.clear()
        _OUTLINE_CACHE[key] = json.loads(outlines.to_json(drop_id=True))
    return _OUTLINE_CACHE[key]


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (folium's ``control_scale`` adds feet and miles, for a French audience)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
{% endmacro %}"""
    )

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class _RefitUntilTouched(MacroElement):
    """Fit Occitanie again whenever the map's frame is resized, until the visitor moves the map.

    Streamlit sizes its iframe after the page script has run, so folium's one-off ``fitBounds``
    would use a wrong size and leave the region small in the middle.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, touched = false, el = map.getContainer();
  ['mousedown', 'wheel', 'touchstart', 'keydown'].forEach(function (t) { el.addEventListener(t, function () { touched = true; }, {passive: true}); });
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      if (!touched && !map._cstiViewSet && el.clientHeight > 0) { map.invalidateSize(); map.fitBounds({{ this.bounds }}, {animate: false}); }
    }).observe(el);
  }
})();
{% endmacro %}"""
    )

    def __init__(self, bounds):
        super().__init__()
        self._name = "RefitUntilTouched"
        self.bounds = json.dumps(bounds)


def base_map(
    departements: gpd.GeoDataFrame | None = None,
    *,
    base: str = "plan_ign",
    prefix: str = STREAMLIT_PREFIX,
    location=CENTER,
    zoom: float | None = None,
    bounds=None,
) -> folium.Map:
    """A map of Occitanie with the chosen base layer first, the others switchable, and department outlines.

    Department outlines are always drawn so the map reads even when tiles cannot load.

    Parameters
    ----------
    departements : GeoDataFrame, optional
        Departments (``code_departement``, ``nom``, geometry in EPSG:4326) to outline.
    base : {"plan_ign", "osm", "aucun"}
        Base layer shown first; the other tile layers are added hidden (for a layer control).
    prefix : str
        URL prefix of the local Leaflet assets (``/app/static/vendor`` in Streamlit, relative for a static site).
    location, zoom :
        Initial view; without ``zoom`` the map fits ``bounds``.
    bounds : list, optional
        ``[[south, west], [north, east]]`` to fit (default: Occitanie), again whenever the frame is resized until touched.
    """
    if base not in BASE_LAYERS:
        base = "plan_ign"
    m = folium.Map(location=location, zoom_start=zoom or 7, tiles=None, max_zoom=18, min_zoom=5, control_scale=False, prefer_canvas=True, zoom_snap=0.25)
    _MetricScale().add_to(m)
    use_local_assets(m, prefix)
    if zoom is None:
        bounds = bounds or OCCITANIE_BOUNDS
        m.fit_bounds(bounds)
        _RefitUntilTouched(bounds).add_to(m)
    order = [base] + [k for k in BASE_LAYERS if k != base]
    for key in order:
        name, url, attribution = BASE_LAYERS[key]
        if url is None:
            continue
        folium.TileLayer(tiles=url, attr=attribution, name=name, max_zoom=18, show=key == base, overlay=False).add_to(m)
    m.csti_base = base
    if departements is not None:
        folium.GeoJson(
            outlines_geojson(departements),
            name="Départements",
            style_function=lambda _: OUTLINE_STYLE,
            tooltip=folium.GeoJsonTooltip(fields=["nom"], labels=False),
            control=False,
        ).add_to(m)
    return m


def tile_layers(m: folium.Map) -> list[tuple[str, str, bool]]:
    """(key, JS variable name, shown) of the base tile layers of ``m``, in order."""
    by_name = {name: key for key, (name, _, _) in BASE_LAYERS.items()}
    out = []
    for child in m._children.values():
        if isinstance(child, folium.TileLayer) and child.layer_name in by_name:
            out.append((by_name[child.layer_name], child.get_name(), bool(child.show)))
    return out


#: Commune outlines, drawn only when zoomed in: lighter simplification (~50 m).
COMMUNES_TOLERANCE = 0.0005
COMMUNES_GRID = 0.00001


def communes_outlines_geojson(communes: gpd.GeoDataFrame) -> str:
    """Simplified commune outlines (code and escaped name) as GeoJSON text, to be fetched by the map at high zoom."""
    outlines = simplified(communes[["code_insee", "nom", "geometry"]], tolerance=COMMUNES_TOLERANCE, grid=COMMUNES_GRID)
    outlines["nom"] = outlines["nom"].map(escape_text)
    return to_geojson(outlines).decode("utf-8")
