"""The public map of actors: one client (``cartography/client/``) fed with a compact payload, for the app and the static site.

Folium's one ``Marker`` per actor writes ~1 KB of JavaScript per actor and escapes nothing. Here the
actors travel once as packed columns (coordinates as integers of 1e-5 degree, types, families and
departments as indices, all written as fixed-width base-64 digits; every distinct string once in a
table, sent gzip-compressed and base-64 encoded, inflated in the browser by the native
``DecompressionStream``) inside a JSON data block that the browser never executes. The client
(``carte.html``, ``carte.js``, ``carte.css``: real files) indexes the points with ``supercluster``
and draws only the clusters and markers in view; search, filters, list, cards and CSV run in the
browser, every data text set with ``textContent``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from cartography.assets import CLIENT_DIR, STREAMLIT_PREFIX
from cartography.base import BASE_LAYERS, OCCITANIE_BOUNDS, OUTLINE_STYLE, outlines_geojson
from cartography.escape import escape_text, safe_url
from cartography.style import FAMILY_COLORS, TYPE_STYLES, type_key
from geodata.actors import FAMILIES, placed_mask, split_list

#: Coordinates travel as integers of 1e-5 degree (about 1 m).
COORD_SCALE = 100_000
#: Commune outlines are fetched and drawn from this zoom on.
COMMUNES_MIN_ZOOM = 10
#: Where the map runs: inside the app's Carte page (state in the page's query string) or as the static site (state in the hash).
MODES = ("app", "site")
#: gzip level of the embedded string table: at 50,000 distinct names, 5 is within 6 % of level 6's size
#: in 60 % of its time, and within 20 % of level 9's size in a fifth of its time.
GZIP_LEVEL = 5


def js_json(value) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>``, ``&`` nor line separators left raw."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_BYTES = np.frombuffer(_B64.encode(), dtype=np.uint8)


def pack(values) -> list:
    """Integers as ``[width, offset, text]``: fixed-width base-64 digits, no separators (decoded in JS)."""
    arr = np.asarray(values, dtype=np.int64)
    if arr.size == 0:
        return [1, 0, ""]
    offset = int(arr.min())
    arr = arr - offset
    width = 1
    while int(arr.max()) >= 64**width:
        width += 1
    digits = np.empty((arr.size, width), dtype=np.uint8)
    for j in range(width - 1, -1, -1):
        digits[:, j] = _B64_BYTES[arr % 64]
        arr = arr // 64
    return [width, offset, digits.tobytes().decode("ascii")]


def unpack(packed: list) -> np.ndarray:
    """Inverse of :func:`pack` (for tests and tools)."""
    width, offset, text = packed
    if not text:
        return np.array([], dtype=np.int64)
    lookup = np.zeros(128, dtype=np.int64)
    lookup[_B64_BYTES] = np.arange(64)
    digits = lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].reshape(-1, width)
    out = np.zeros(len(digits), dtype=np.int64)
    for j in range(width):
        out = out * 64 + digits[:, j]
    return out + offset


def embedded_payload(payload: dict) -> dict:
    """The payload as written into the page: the string table replaced by ``z``, its gzipped JSON in base 64.

    Names and summaries are most of the bytes and compress several-fold; base 64 is plain ASCII, so
    the blob cannot close the ``<script>`` element whatever the strings hold.
    """
    out = {k: v for k, v in payload.items() if k != "strings"}
    out["z"] = gzipped_json(payload["strings"])
    return out


def gzipped_json(value) -> str:
    """``value`` as JSON, gzip-compressed, in base 64 (inflated in the browser by ``DecompressionStream``)."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)).decode("ascii")


def embedded_strings(z: str) -> list[str]:
    """Inverse of the ``z`` field of :func:`embedded_payload` (for tests and tools)."""
    return json.loads(gzip.decompress(base64.b64decode(z)).decode("utf-8"))


def _clean(value) -> str:
    if type(value) is str:
        return value.strip()
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series("", index=frame.index, dtype="object")


def _factorize(series: pd.Series, clean=_clean) -> tuple[np.ndarray, list]:
    """Codes and cleaned unique values; cleaning runs once per distinct value, not once per row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # tolist() first: iterating an Arrow-backed array element by element is several times slower.
    values = [clean(u) for u in uniques.tolist()] + [clean(None)]
    codes = np.where(codes < 0, len(values) - 1, codes)
    return codes, values


def _theme_key(text: str) -> str:
    from geodata.selection import normalize

    return normalize(text)


def actor_payload(actors: gpd.GeoDataFrame) -> dict:
    """Columnar, compact description of the placed actors (public fields only), see :func:`embedded_payload`.

    Actors without a location are left out (the page lists them in its table).

    Parameters
    ----------
    actors : GeoDataFrame
        The directory (``nom``, ``type_structure``, ``famille``, ``commune_lieu`` or ``commune``,
        ``code_departement``, ``presentation_resume``, ``site_web``; Point geometry in EPSG:4326).

    Returns
    -------
    dict
        Integer columns packed by :func:`pack`: ``lat``/``lon`` (1e-5 degree), ``t``/``f``/``d``
        (indices into ``types``, ``families``, ``depts``) and ``n``/``c``/``s``/``u`` (indices into
        ``strings``: name, commune, summary, http(s) URL or empty, actor id, theme indices as
        ``"0,3"`` into ``themes``).
    """
    placed = actors[placed_mask(actors)]
    xs = np.round(placed.geometry.x.to_numpy() * COORD_SCALE).astype(np.int64) if len(placed) else []
    ys = np.round(placed.geometry.y.to_numpy() * COORD_SCALE).astype(np.int64) if len(placed) else []

    t_codes, t_values = _factorize(_column(placed, "type_structure"), lambda v: type_key(_clean(v)))
    used_types = {t_values[i] for i in np.unique(t_codes)}
    type_keys = [k for k in TYPE_STYLES if k in used_types]
    t_map = np.array([type_keys.index(v) if v in type_keys else -1 for v in t_values], dtype=np.int64)

    f_codes, f_values = _factorize(_column(placed, "famille"), lambda v: _clean(v) if _clean(v) in FAMILIES else "autre")
    used_families = {f_values[i] for i in np.unique(f_codes)}
    fam_keys = [k for k in FAMILIES if k in used_families]
    f_map = np.array([fam_keys.index(v) if v in fam_keys else -1 for v in f_values], dtype=np.int64)

    d_codes, d_values = _factorize(_column(placed, "code_departement"))
    dep_codes = sorted({d_values[i] for i in np.unique(d_codes)})
    d_map = np.array([dep_codes.index(v) if v in dep_codes else -1 for v in d_values], dtype=np.int64)

    commune = _column(placed, "commune_lieu").astype("string").fillna("").str.strip()
    if "commune" in placed:
        commune = commune.where(commune != "", placed["commune"].astype("string").fillna("").str.strip())
    themes = sorted({t for cell in _column(placed, "thematiques").dropna().unique().tolist() for t in split_list(cell)}, key=_theme_key)
    theme_index = {t: j for j, t in enumerate(themes)}
    ids = _column(placed, "id").map(_clean).to_numpy(dtype=object)
    # An actor's link needs a unique id: a missing or repeated one is replaced by the actor's position ("~12", never a real id).
    bad = (ids == "") | pd.Series(ids).duplicated(keep=False).to_numpy()
    taken, mark = set(ids[~bad].tolist()), "~"
    while any(t.startswith(mark) for t in taken):
        mark += "~"
    ids[bad] = [f"{mark}{j + 1}" for j in np.flatnonzero(bad)]
    table: dict[str, int] = {}
    columns = {}
    for key, series, clean in (
        ("i", pd.Series(ids, index=placed.index), _clean),
        ("h", _column(placed, "thematiques"), lambda v: ",".join(str(theme_index[t]) for t in dict.fromkeys(split_list(v)))),
        ("n", _column(placed, "nom"), _clean),
        ("c", commune, _clean),
        ("s", _column(placed, "presentation_resume"), _clean),
        ("u", _column(placed, "site_web"), lambda v: safe_url(_clean(v)) or ""),
    ):
        codes, values = _factorize(series, clean)
        lookup = np.array([table.setdefault(v, len(table)) for v in values], dtype=np.int64)
        columns[key] = pack(lookup[codes])
    return {
        "scale": COORD_SCALE,
        "count": len(placed),
        "lat": pack(ys),
        "lon": pack(xs),
        "t": pack(t_map[t_codes]),
        "f": pack(f_map[f_codes]),
        "d": pack(d_map[d_codes]),
        **columns,
        "strings": list(table),
        "types": [{"key": k, "label": TYPE_STYLES[k].label, "color": TYPE_STYLES[k].color, "letter": TYPE_STYLES[k].letter} for k in type_keys],
        "families": [{"key": k, "label": FAMILIES[k], "color": FAMILY_COLORS[k]} for k in fam_keys],
        "depts": dep_codes,
        "themes": themes,
        "family_counts": np.bincount(f_map[f_codes], minlength=len(fam_keys)).tolist() if len(placed) else [],
    }




# -- the page --------------------------------------------------------------------------------------------

_MARKER = re.compile(r"__CSTI_([A-Z]+)__")


def places_payload(communes: gpd.GeoDataFrame, codes_postaux: pd.DataFrame | None = None) -> list:
    """Places of the search box: ``[name, "postcodes separated by spaces", lat, lon]`` per commune, most populated first.

    The point is the commune's town hall (or a point inside it): ``point_lat``/``point_lon`` of the
    reference, else a representative point of its outline.
    """
    if "point_lat" in communes and "point_lon" in communes:
        lat, lon = communes["point_lat"].to_numpy(float), communes["point_lon"].to_numpy(float)
    else:
        pts = communes.geometry.representative_point()
        lat, lon = pts.y.to_numpy(), pts.x.to_numpy()
    cps: dict[str, list[str]] = {}
    if codes_postaux is not None and len(codes_postaux):
        for code_postal, code_insee in zip(codes_postaux["code_postal"], codes_postaux["code_insee"]):
            cps.setdefault(code_insee, []).append(str(code_postal))
    population = communes["population"].fillna(0).to_numpy(float) if "population" in communes else np.zeros(len(communes))
    rows = [
        (-pop, [_clean(name), " ".join(sorted(set(cps.get(code, [])))), round(float(y), 5), round(float(x), 5)])
        for name, code, y, x, pop in zip(communes["nom"], communes["code_insee"], lat, lon, population)
        if np.isfinite(y) and np.isfinite(x)
    ]
    # Most populated first: the search box lists the first matches, and « 46100 » or « Mont » should show Figeac or Montpellier.
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _outlines(departements: gpd.GeoDataFrame | None) -> dict:
    if departements is None or departements.empty:
        return {"type": "FeatureCollection", "features": []}
    return outlines_geojson(departements)


def _file_version(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def client_config(
    *,
    mode: str,
    base: str = "plan_ign",
    communes_url: str | None = None,
    report_email: str = "",
    note: str = "",
    csv_name: str = "acteurs_csti_occitanie.csv",
) -> dict:
    """Settings of the client: where it runs, base layers, the error-report address, the sample notice."""
    if mode not in MODES:
        raise ValueError(f"mode doit valoir l'une de {MODES}, pas {mode!r}")
    return {
        "mode": mode,
        "bases": [{"key": key, "label": label, "url": url, "attribution": attribution} for key, (label, url, attribution) in BASE_LAYERS.items()],
        "base": base if base in BASE_LAYERS else "plan_ign",
        "bounds": OCCITANIE_BOUNDS,
        "outline": OUTLINE_STYLE,
        "communesUrl": communes_url,
        "reportEmail": report_email,
        "note": note,
        "csvName": csv_name,
    }


def page_payload(actors: gpd.GeoDataFrame, departements=None, *, places: list | None = None, config: dict) -> dict:
    """Everything the client reads: the actors (see :func:`actor_payload`), places and outlines gzipped in ``g``, the config."""
    payload = embedded_payload(actor_payload(actors))
    names = {}
    if departements is not None and "nom" in departements:
        names = dict(zip(departements["code_departement"].astype(str), departements["nom"].astype(str)))
    payload["deptNames"] = {c: names[c] for c in payload["depts"] if c in names}
    payload["g"] = gzipped_json({"places": places or [], "outlines": _outlines(departements)})
    payload["cfg"] = config
    return payload


def actors_page(
    actors: gpd.GeoDataFrame,
    departements: gpd.GeoDataFrame | None = None,
    *,
    config: dict,
    places: list | None = None,
    vendor: str = STREAMLIT_PREFIX,
    client: str | None = None,
    title: str = "Carte de la culture scientifique en Occitanie",
    csp: str = "",
) -> str:
    """The map's HTML page (``carte.html`` filled in): the data block, the local assets, the client files.

    Parameters
    ----------
    actors : GeoDataFrame
        Actors to draw; only public fields are read (see :func:`actor_payload`).
    departements : GeoDataFrame, optional
        Departments outlined on the map and named in the department filter.
    config : dict
        From :func:`client_config`.
    places : list, optional
        From :func:`places_payload` (the search box finds communes and postcodes).
    vendor : str
        URL prefix of Leaflet and supercluster.
    client : str, optional
        URL prefix of ``carte.js`` and ``carte.css`` (default ``{vendor}/client``); the file's hash is
        added as a query so a browser never runs a stale client.
    csp : str
        A Content-Security-Policy for a ``<meta>`` element (the static site), empty for none.
    """
    client = (client if client is not None else f"{vendor.rstrip('/')}/client").rstrip("/")
    prefix = f"{client}/" if client else ""
    values = {
        "CSP": f'<meta http-equiv="Content-Security-Policy" content="{escape_text(csp)}">\n' if csp else "",
        "TITLE": escape_text(title),
        "VENDOR": escape_text(vendor.rstrip("/")),
        "CSS": escape_text(f"{prefix}carte.css?v={_file_version(CLIENT_DIR / 'carte.css')}"),
        "JS": escape_text(f"{prefix}carte.js?v={_file_version(CLIENT_DIR / 'carte.js')}"),
        "DATA": js_json(page_payload(actors, departements, places=places, config=config)),
    }
    template = (CLIENT_DIR / "carte.html").read_text(encoding="utf-8")
    # One pass: text put in (the data) is never scanned for markers again.
    return _MARKER.sub(lambda m: values[m.group(1)], template)


_DATA_BLOCK = re.compile(r'<script type="application/json" id="csti-data">(.*?)</script>', re.DOTALL)


def page_data(html: str) -> dict:
    """The data block of a page written by :func:`actors_page` (for tests and tools)."""
    return json.loads(_DATA_BLOCK.search(html).group(1))


def map_html(m: folium.Map) -> str:
    """The standalone HTML page of a folium map (the statistics and coverage maps)."""
    return m.get_root().render()
