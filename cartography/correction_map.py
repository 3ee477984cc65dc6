"""Small map of a placement correction: the actor's point and its commune, then the point clicked and the commune it falls in."""

from __future__ import annotations

import folium
import shapely
from shapely.geometry import mapping

from cartography.assets import STREAMLIT_PREFIX
from cartography.base import OCCITANIE_BOUNDS, base_map
from cartography.escape import escape_text

COLORS = {"current": "#1c3d5a", "new": "#c92a2a"}
#: Zoom bounds around a lone point (degrees, about 2 km), when its commune outline is unknown.
AROUND_POINT = 0.02
#: Margin around the commune in view (share of its size on each side): its edge stays clear of the zoom buttons and the scale.
MARGIN = 0.08
#: Commune outlines drawn here are simplified to about 20 m (degrees): light enough for a phone, exact enough for a click.
OUTLINE_TOLERANCE = 0.0002


def _bounds(*geoms) -> list:
    """Leaflet bounds ``[[south, west], [north, east]]`` of the given geometries (None skipped), else Occitanie."""
    found = [g for g in geoms if g is not None and not g.is_empty]
    if not found:
        return OCCITANIE_BOUNDS
    west, south, east, north = shapely.total_bounds(found)
    if east - west < AROUND_POINT and north - south < AROUND_POINT:  # a point alone: a few streets around it
        west, south, east, north = west - AROUND_POINT, south - AROUND_POINT, east + AROUND_POINT, north + AROUND_POINT
    dx, dy = (east - west) * MARGIN, (north - south) * MARGIN
    west, south, east, north = west - dx, south - dy, east + dx, north + dy
    return [[float(south), float(west)], [float(north), float(east)]]


def _outline(geometry, *, color: str, label: str, dashed: bool = False) -> folium.GeoJson:
    simple = shapely.simplify(geometry, OUTLINE_TOLERANCE, preserve_topology=True)
    style = {"color": color, "weight": 3, "fill": True, "fillOpacity": 0.06, "dashArray": "6 6" if dashed else None}
    # Not interactive: a click inside the commune must reach the map (it sets the new point), not the outline.
    return folium.GeoJson(mapping(simple), name=escape_text(label), style_function=lambda _: style, interactive=False, control=False)


def _point(lon: float, lat: float, *, color: str, label: str) -> folium.CircleMarker:
    # Its clicks bubble up to the map (Leaflet's default): a tap on the point itself also sets the new point there.
    return folium.CircleMarker((lat, lon), radius=9, color="#ffffff", weight=3, fill=True, fill_color=color, fill_opacity=1.0,
                               tooltip=escape_text(label), bubbling_mouse_events=True)


def correction_map(
    point: tuple[float, float] | None,
    outline=None,
    *,
    name: str,
    commune: str = "",
    base: str = "plan_ign",
    prefix: str = STREAMLIT_PREFIX,
) -> folium.Map:
    """The actor's current place: its point (``(lon, lat)``, or None when unplaced) and its commune's outline, fitted in view.

    Clicks are read by the page (``st_folium``'s ``last_clicked``); the point clicked is drawn by
    :func:`proposed_layer` on top of this map, which therefore stays the same from click to click.
    ``name`` and ``commune`` come from data: they are escaped here.
    """
    here = None if point is None else shapely.Point(point)
    m = base_map(None, base=base, prefix=prefix, bounds=_bounds(outline, here))
    if outline is not None and not outline.is_empty:
        _outline(outline, color=COLORS["current"], label=f"Commune actuelle : {commune}").add_to(m)
    if here is not None:
        _point(here.x, here.y, color=COLORS["current"], label=f"Position actuelle : {name}" + (f" ({commune})" if commune else "")).add_to(m)
    return m


def proposed_layer(point: tuple[float, float] | None, outline=None, *, commune: str = "") -> folium.FeatureGroup:
    """The point clicked (``(lon, lat)``) and the outline of the commune it falls in, as a layer added without redrawing the map."""
    group = folium.FeatureGroup(name="Nouvelle position", control=False)
    if outline is not None and not outline.is_empty:
        _outline(outline, color=COLORS["new"], label=f"Nouvelle commune : {commune}", dashed=True).add_to(group)
    if point is not None:
        _point(point[0], point[1], color=COLORS["new"], label="Nouvelle position" + (f" ({commune})" if commune else "")).add_to(group)
    return group
