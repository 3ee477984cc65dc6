"""Static map of a territory report: outlines, gaps, actors and where-next steps, drawn server-side without tiles.

Drawn with matplotlib's object API (``Figure`` + the Agg canvas, never ``pyplot``): no global state, safe in the
threads of a Streamlit server. Meant to be printed in black and white: every category has its own hatch or marker
and the steps carry their number, colour only helps.
"""

from __future__ import annotations

import io
import weakref

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
from matplotlib.path import Path

from geodata import number_format as nf
from geodata.coverage import OUT, REACHED, UNCERTAIN, Demand, Sites
from geodata.reference import CRS_METRIC

#: Outlines are simplified to this tolerance (m): invisible at the scale of a department, ten times lighter to draw.
SIMPLIFY_M = 60.0
#: Greys and hatches that survive a black-and-white printer (colour, where there is some, is only a help).
STYLE = {
    "outside": {"facecolor": "#eeeeee", "edgecolor": "#c8c8c8", "linewidth": 0.15},
    "commune": {"facecolor": "#ffffff", "edgecolor": "#b0b0b0", "linewidth": 0.2},
    OUT: {"facecolor": "#f4a261", "edgecolor": "#333333", "linewidth": 0.3, "hatch": "/////", "hatchcolor": "#333333"},
    UNCERTAIN: {"facecolor": "#fde8cf", "edgecolor": "#777777", "linewidth": 0.3, "hatch": "....", "hatchcolor": "#555555"},
}
LABELS = {
    OUT: "Commune rurale hors de portée",
    UNCERTAIN: "Commune rurale incertaine (selon la position exacte des acteurs)",
    "qpv_out": "QPV hors de portée",
    "qpv_uncertain": "QPV incertain",
    "qpv_reached": "QPV à portée",
    "actor": "Acteur compté",
    "hypothetical": "Site hypothétique",
    "step": "Où agir ensuite : n° d'étape et portée rurale",
}
#: Marker of each kind of point: shapes and fills that tell them apart without colour.
MARKERS = {
    "qpv_out": {"marker": "s", "markersize": 6, "markeredgewidth": 1.0, "color": "#000000", "markerfacecolor": "#c2255c"},
    "qpv_uncertain": {"marker": "s", "markersize": 6, "markeredgewidth": 1.0, "color": "#000000", "markerfacecolor": "#ffffff"},
    "qpv_reached": {"marker": "D", "markersize": 4, "markeredgewidth": 1.0, "color": "#555555", "markerfacecolor": "#ffffff"},
    "actor": {"marker": "o", "markersize": 4, "markeredgewidth": 0.5, "markerfacecolor": "#1c3d5a", "markeredgecolor": "#ffffff"},
    "hypothetical": {"marker": "^", "markersize": 7, "markeredgewidth": 1.2, "markerfacecolor": "#ffffff", "markeredgecolor": "#000000"},
}
#: Width of the figure (inches, an A4 page inside its margins) and the height of its parts.
WIDTH_IN, MAP_WIDTH_IN, TITLE_IN, LEGEND_IN, CREDITS_IN = 7.4, 7.2, 0.55, 1.0, 0.32
#: Height / width of the map frame, whatever the territory's shape (a long EPCI stays readable, a wide region fills the page).
MIN_ASPECT, MAX_ASPECT = 0.62, 1.0

_SIMPLIFIED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _metric_communes(demand: Demand) -> np.ndarray:
    """Commune polygons in EPSG:2154, simplified once per prepared territory."""
    if demand not in _SIMPLIFIED:
        polygons = demand.commune_hulls()[0]
        _SIMPLIFIED[demand] = shapely.simplify(polygons, SIMPLIFY_M, preserve_topology=True)
    return _SIMPLIFIED[demand]


def _paths(geoms) -> list[Path]:
    """Matplotlib paths of (multi)polygons, holes included."""
    paths = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for poly in shapely.get_parts(geom):
            if poly.geom_type != "Polygon":
                continue
            rings = [np.asarray(poly.exterior.coords), *(np.asarray(r.coords) for r in poly.interiors)]
            codes = [np.r_[Path.MOVETO, np.full(len(r) - 2, Path.LINETO), Path.CLOSEPOLY] for r in rings if len(r) >= 4]
            rings = [r for r in rings if len(r) >= 4]
            if rings:
                paths.append(Path(np.concatenate(rings), np.concatenate(codes).astype(Path.code_type)))
    return paths


def _polygons(ax, geoms, *, zorder: float, **style) -> None:
    paths = _paths(geoms)
    if paths:
        ax.add_collection(PathCollection(paths, zorder=zorder, **style), autolim=False)


def _hatched(ax, geoms, *, zorder: float, hatch: str, hatchcolor: str, **style) -> None:
    """Communes filled one by one, hatched as one shape: Agg draws a hatch per path, a thousand of them take seconds."""
    if len(geoms) == 0:
        return
    _polygons(ax, geoms, zorder=zorder, **style)
    _polygons(
        ax, [shapely.union_all(geoms)], zorder=zorder, facecolor="none", edgecolor="none", linewidth=0, hatch=hatch, hatchcolor=hatchcolor
    )


def _outline(ax, geoms, *, linewidth: float, zorder: float, color: str = "#000000") -> None:
    _polygons(ax, geoms, facecolor="none", edgecolor=color, linewidth=linewidth, zorder=zorder)


def _markers(ax, handles: list, xy: np.ndarray, label: str, *, zorder: float, **style) -> None:
    """Points drawn with one marker style, and the legend entry that names them (drawn with the same style)."""
    if len(xy):
        ax.plot(xy[:, 0], xy[:, 1], linestyle="none", zorder=zorder, **style)
    handles.append(Line2D([], [], linestyle="none", label=label, **style))


def _scale_bar(ax, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
    """A black-and-white bar of a round length (1, 2, 5 × 10ⁿ km) about a fifth of the map wide."""
    target = (xmax - xmin) / 5 / 1000
    length = max(v * 10**e for e in range(-1, 4) for v in (1, 2, 5) if v * 10**e <= max(target, 0.1))
    x0, y0 = xmin + (xmax - xmin) * 0.04, ymin + (ymax - ymin) * 0.04
    half = length * 500
    h = (ymax - ymin) * 0.008
    ax.fill([x0, x0 + half, x0 + half, x0], [y0, y0, y0 + h, y0 + h], facecolor="#000000", edgecolor="#000000", linewidth=0.6, zorder=9)
    ax.fill(
        [x0 + half, x0 + 2 * half, x0 + 2 * half, x0 + half],
        [y0, y0, y0 + h, y0 + h],
        facecolor="#ffffff",
        edgecolor="#000000",
        linewidth=0.6,
        zorder=9,
    )
    ax.text(
        x0 + 2 * half,
        y0 + 2.2 * h,
        f"{nf.short(length)} km",
        ha="right",
        va="bottom",
        fontsize=7,
        zorder=9,
        parse_math=False,
        bbox={"facecolor": "#ffffff", "edgecolor": "none", "pad": 1, "alpha": 0.8},
    )


def territory_figure(report, *, titled: bool = True) -> Figure:
    """The map of a :class:`cartography.report.TerritoryReport`, with its legend, sources and date, and its title when ``titled``
    (the PDF prints the title above it)."""
    analysis = report.analysis
    demand, coverage = analysis.demand, analysis.coverage
    polygons = _metric_communes(demand)
    inside = report.communes_mask
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons[inside])
    # A frame around the territory with a margin (the neighbours give the context), neither too flat nor too tall for a page.
    pad = max(xmax - xmin, ymax - ymin) * 0.05
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    aspect = min(max((ymax - ymin) / (xmax - xmin), MIN_ASPECT), MAX_ASPECT)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    half_w = max(xmax - xmin, (ymax - ymin) / aspect) / 2
    xmin, xmax, ymin, ymax = cx - half_w, cx + half_w, cy - half_w * aspect, cy + half_w * aspect
    map_in = MAP_WIDTH_IN * aspect
    bounds = shapely.bounds(polygons)
    visible = (bounds[:, 0] <= xmax) & (bounds[:, 2] >= xmin) & (bounds[:, 1] <= ymax) & (bounds[:, 3] >= ymin)

    top = TITLE_IN if titled else 0.0
    height = map_in + top + LEGEND_IN + CREDITS_IN
    fig = Figure(figsize=(WIDTH_IN, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(((1 - MAP_WIDTH_IN / WIDTH_IN) / 2, (LEGEND_IN + CREDITS_IN) / height, MAP_WIDTH_IN / WIDTH_IN, map_in / height))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()

    c = coverage.communes
    rural = c["rurale"].to_numpy()
    verdict = c["portee"].to_numpy()
    _polygons(ax, polygons[visible & ~inside], zorder=1, **STYLE["outside"])
    _polygons(ax, polygons[visible & inside], zorder=1, **STYLE["commune"])
    handles = []
    for kind in (OUT, UNCERTAIN):
        chosen = inside & rural & (verdict == kind)
        _hatched(ax, polygons[chosen], zorder=2, **STYLE[kind])
        handles.append(Patch(label=f"{LABELS[kind]} ({nf.integer(chosen.sum())})", **STYLE[kind]))

    deps = demand.departements.to_crs(CRS_METRIC)
    _outline(ax, shapely.simplify(deps.geometry.to_numpy(), SIMPLIFY_M), linewidth=0.8, zorder=4, color="#444444")
    _outline(ax, [report.outline_metric], linewidth=1.8, zorder=5)

    if coverage.qpv is not None and report.qpv_mask is not None:
        q = coverage.qpv
        spots = shapely.get_coordinates(shapely.point_on_surface(demand.qpv_metric))
        _polygons(ax, demand.qpv_metric[report.qpv_mask], zorder=3, facecolor="#000000", edgecolor="#000000", linewidth=0.3)
        for kind, key in ((OUT, "qpv_out"), (UNCERTAIN, "qpv_uncertain"), (REACHED, "qpv_reached")):
            chosen = report.qpv_mask & (q["portee"] == kind).to_numpy()
            # Out of reach on top: it is what the map is about.
            _markers(
                ax,
                handles,
                spots[chosen],
                f"{LABELS[key]} ({nf.integer(chosen.sum())})",
                zorder=7.2 if kind == OUT else 7,
                **MARKERS[key],
            )

    sites = analysis.sites
    in_view = (
        (sites.xy[:, 0] >= xmin) & (sites.xy[:, 0] <= xmax) & (sites.xy[:, 1] >= ymin) & (sites.xy[:, 1] <= ymax)
        if len(sites)
        else np.zeros(0, bool)
    )
    for key, chosen in (("actor", in_view & ~sites.hypothetical), ("hypothetical", in_view & sites.hypothetical)):
        if key == "actor" or chosen.any():
            _markers(ax, handles, sites.xy[chosen], LABELS[key], zorder=8, **MARKERS[key])

    steps = report.steps
    if len(steps):
        xy = Sites.from_lonlat(steps["nom"], steps["lon"], steps["lat"]).xy
        radius = coverage.params.rural_reach_m
        for (x, y), number in zip(xy, steps["etape"]):
            ax.add_patch(Circle((x, y), radius, facecolor="none", edgecolor="#000000", linewidth=0.8, linestyle=(0, (4, 3)), zorder=6))
            # The number sits beside the proposed commune's point (a cross), not on it: a QPV there stays visible.
            ax.plot([x], [y], linestyle="none", marker="+", markersize=6, markeredgewidth=1.2, color="#000000", zorder=9)
            ax.annotate(
                str(int(number)),
                (x, y),
                xytext=(8, 8),
                textcoords="offset points",
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold",
                zorder=10,
                annotation_clip=True,
                bbox={"boxstyle": "circle,pad=0.25", "facecolor": "#ffffff", "edgecolor": "#000000", "linewidth": 1.0},
                arrowprops={"arrowstyle": "-", "color": "#000000", "linewidth": 0.7, "shrinkA": 0, "shrinkB": 2},
            )
        handles.append(
            Line2D(
                [],
                [],
                linestyle=(0, (4, 3)),
                color="#000000",
                marker="o",
                markersize=9,
                markerfacecolor="#ffffff",
                markeredgecolor="#000000",
                label=LABELS["step"],
            )
        )
    _scale_bar(ax, xmin, xmax, ymin, ymax)

    if titled:
        fig.text(0.015, 1 - 0.08 / height, report.title, fontsize=13, fontweight="bold", va="top", parse_math=False)
        fig.text(0.015, 1 - 0.34 / height, report.subtitle, fontsize=7.5, va="top", color="#333333", parse_math=False)
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.01, (LEGEND_IN + CREDITS_IN) / height),
        ncol=2,
        fontsize=7,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.2,
    )
    fig.text(0.015, 0.04 / height, report.map_credits, fontsize=5.4, color="#333333", va="bottom", parse_math=False, wrap=True)
    return fig


def territory_png(report, *, dpi: int = 170, titled: bool = True) -> bytes:
    """The map of a report as PNG bytes."""
    fig = territory_figure(report, titled=titled)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="#ffffff")
    return out.getvalue()
