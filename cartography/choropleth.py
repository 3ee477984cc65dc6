"""Choropleth maps of the statistics page: one colour class per area, escaped tooltips, a legend."""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from cartography.assets import STREAMLIT_PREFIX
from cartography.base import base_map
from cartography.escape import escape_text
from geodata import number_format
from geodata.indicators import class_breaks, is_count

#: Sequential palette (ColorBrewer YlGnBu), light to dark; zero gets its own pale grey.
PALETTE = ("#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")
ZERO = "#f0f0f0"
NO_DATA = "#ffffff"


def _fmt(value: float) -> str:
    if value is None or pd.isna(value):
        return number_format.MISSING
    return number_format.integer(value) if float(value).is_integer() else number_format.decimal(value, 2)


def colours(values: pd.Series, breaks: list[float]) -> list[str]:
    """Colour of each value: grey for zero, white for missing, else its class in :data:`PALETTE`."""
    palette = PALETTE[-len(breaks):] if breaks else PALETTE
    out = []
    for v in values:
        if v is None or pd.isna(v):
            out.append(NO_DATA)
        elif v <= 0:
            out.append(ZERO)
        else:
            i = int(np.searchsorted(breaks, v, side="left"))
            out.append(palette[min(i, len(palette) - 1)])
    return out


class _Legend(MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
(function () {
  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function () {
    var d = document.createElement('div');
    d.className = 'csti-choro-legend';
    d.style.cssText = 'background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;font:12px/1.5 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)';
    d.innerHTML = {{ this.html }};
    return d;
  };
  legend.addTo({{ this._parent.get_name() }});
})();
{% endmacro %}"""
    )

    def __init__(self, html: str):
        super().__init__()
        self.html = json.dumps(html).replace("<", "\\u003c")


def legend_html(title: str, breaks: list[float], *, counts: bool = False, note: str = "") -> str:
    """Legend rows, every label escaped. With ``counts``, classes are whole numbers: « 1 – 3 », « 4 », « 5 – 8 »."""
    palette = PALETTE[-len(breaks):] if breaks else PALETTE
    rows = [f'<div><b>{escape_text(title)}</b></div>', f'<div><i style="display:inline-block;width:14px;height:10px;background:{ZERO};border:1px solid #999"></i> 0</div>']
    low = None
    for colour, high in zip(palette, breaks):
        if counts:
            first = 1 if low is None else int(low) + 1
            label = _fmt(high) if first == int(high) else f"{_fmt(first)} – {_fmt(high)}"
        else:
            label = f"jusqu'à {_fmt(high)}" if low is None else f"{_fmt(low)} – {_fmt(high)}"
        rows.append(f'<div><i style="display:inline-block;width:14px;height:10px;background:{colour}"></i> {escape_text(label)}</div>')
        low = high
    if note:
        rows.append(f'<div><i style="display:inline-block;width:14px;height:10px;background:{NO_DATA};border:1px solid #999"></i> '
                    f"{escape_text(note)}</div>")
    return "".join(rows)


def choropleth_map(
    areas: gpd.GeoDataFrame,
    column: str,
    *,
    title: str,
    name_column: str = "nom",
    departements: gpd.GeoDataFrame | None = None,
    prefix: str = STREAMLIT_PREFIX,
    base: str = "plan_ign",
    missing_note: str = "",
) -> folium.Map:
    """Areas coloured by quantile class of ``column``, tooltip with the area's name and value, and a legend.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons in EPSG:4326 (simplify them first for communes: the whole GeoJSON goes into the page).
    column : str
        Numeric column to map.
    title : str
        Legend title and tooltip label.
    departements : GeoDataFrame, optional
        Department outlines drawn on top (they let the hover through to the areas below).
    missing_note : str, optional
        Legend line for the areas left white (no value), e.g. why a rate is not shown.
    """
    breaks = class_breaks(areas[column])
    data = areas[[name_column, "geometry"]].copy()
    data["nom"] = areas[name_column].map(escape_text)
    data["valeur"] = areas[column].map(_fmt).map(escape_text)
    data["couleur"] = colours(areas[column], breaks)
    m = base_map(departements, prefix=prefix, base=base)
    folium.GeoJson(
        json.loads(data[["nom", "valeur", "couleur", "geometry"]].to_json(drop_id=True)),
        name=escape_text(title),
        style_function=lambda f: {"fillColor": f["properties"]["couleur"], "fillOpacity": 0.75, "color": "#607d8b", "weight": 0.4},
        highlight_function=lambda _: {"weight": 2, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=["nom", "valeur"], aliases=["", escape_text(title)], labels=True),
        control=False,
    ).add_to(m)
    if departements is not None:
        # Outlines back on top of the coloured areas.
        for child in list(m._children.values()):
            if isinstance(child, folium.GeoJson) and child.layer_name == "Départements":
                m._children.move_to_end(child.get_name())
                # On top, the outlines would catch the hover: the tooltip would name the department, without the value.
                child.options["interactive"] = False
                for key, sub in list(child._children.items()):
                    if isinstance(sub, folium.GeoJsonTooltip):
                        del child._children[key]
    _Legend(legend_html(title, breaks, counts=is_count(areas[column]), note=missing_note)).add_to(m)
    return m
