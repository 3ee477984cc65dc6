"""The public map of actors: one client (``cartography/client/``) fed with a compact payload, for the app and the static site.

Folium's one ``Marker`` per actor writes ~1 KB of JavaScript per actor and escapes nothing. Here the
actors travel once, in spatial order (neighbours on the map are neighbours in the data), as one binary
block (:func:`binary_payload`): coordinates as varints of their differences in 1e-5 degree, categories
as small codes (type, family and themes together as one code into a table of the distinct triples),
names, summaries, links and ids as their texts in actor order. The block is gzip-compressed and base-64
encoded inside a JSON data block the browser never executes. The client (``carte.html``, ``carte.js``,
``carte.css``) hands it to its engine, ``carte-worker.js``, a Web Worker that inflates it with the native
``DecompressionStream``, filters, searches and clusters with ``supercluster`` off the page; the page
draws only the clusters and markers in view, every data text set with ``textContent``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import zlib
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
#: gzip level of the embedded blocks: at 50,000 actors with distinct names, level 6 with the "filtered" strategy
#: (fewer string matches, more Huffman coding: suits varint columns) is 3 % smaller than level 5 and within 1 %
#: of level 9's size in a third of its time.
GZIP_LEVEL = 6


def js_json(value) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>``, ``&`` nor line separators left raw."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


# -- the binary columns ----------------------------------------------------------------------------------

def varints(values) -> bytes:
    """Unsigned integers (< 2**35) as LEB128 varints: 7 bits a byte, the high bit set on every byte but the last."""
    v = np.asarray(values, dtype=np.uint64)
    if v.size == 0:
        return b""
    nbytes = np.ones(v.size, dtype=np.int64)
    for k in range(1, 5):
        nbytes += v >= np.uint64(1 << (7 * k))
    starts = np.cumsum(nbytes) - nbytes
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    for k in range(int(nbytes.max())):
        has = nbytes > k
        byte = (v[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[has] + k] = (byte | more).astype(np.uint8)
    return out.tobytes()


def read_varints(data: bytes, count: int) -> np.ndarray:
    """Inverse of :func:`varints` (for tests and tools)."""
    b = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(b < 0x80)[:count]
    out = np.zeros(count, dtype=np.int64)
    start = 0
    for j, end in enumerate(ends.tolist()):
        value = 0
        for k, byte in enumerate(b[start:end + 1].tolist()):
            value |= (byte & 0x7F) << (7 * k)
        out[j] = value
        start = end + 1
    return out


def zigzag_deltas(values) -> np.ndarray:
    """Differences to the previous value (the first to 0), signed folded onto unsigned: 0, -1, 1, -2 -> 0, 1, 2, 3."""
    v = np.asarray(values, dtype=np.int64)
    d = np.diff(v, prepend=np.int64(0))
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


def _utf16_lengths(strings: list[str], joined: str) -> np.ndarray:
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    if _ASTRAL.search(joined):  # a character beyond U+FFFF is two UTF-16 units in JavaScript
        lengths += np.fromiter((len(_ASTRAL.findall(s)) for s in strings), dtype=np.int64, count=len(strings))
    return lengths


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
#: Kinds of section of the binary payload (read by carte.js and carte-worker.js).
SECTION_KINDS = ("zdelta", "varint", "text")


def binary_payload(columns: list[tuple[str, str, object]]) -> bytes:
    """Columns as one binary block: a 4-byte length and a JSON header ``[[key, kind, count, bytes], …]``, then the sections.

    ``zdelta``: integers as zigzag varints of their differences (coordinates in spatial order differ
    little); ``varint``: small unsigned integers; ``text``: strings as their UTF-16 lengths (varints)
    then their UTF-8 bytes, so the client decodes one text and cuts it (no separator to escape).
    """
    header, parts = [], []
    for key, kind, values in columns:
        if kind == "zdelta":
            data, count = varints(zigzag_deltas(values)), len(values)
        elif kind == "varint":
            data, count = varints(values), len(values)
        elif kind == "text":
            joined = "".join(values)
            data = varints(_utf16_lengths(values, joined)) + joined.encode("utf-8", "replace")
            count = len(values)
        else:
            raise ValueError(f"genre de colonne inconnu : {kind!r}")
        header.append([key, kind, count, len(data)])
        parts.append(data)
    head = json.dumps(header, separators=(",", ":")).encode("ascii")
    return b"".join([len(head).to_bytes(4, "little"), head, *parts])


def read_binary_payload(blob: bytes) -> dict:
    """Inverse of :func:`binary_payload`: ``{key: list}`` (for tests and tools)."""
    size = int.from_bytes(blob[:4], "little")
    header, pos, out = json.loads(blob[4:4 + size]), 4 + size, {}
    for key, kind, count, nbytes in header:
        data = blob[pos:pos + nbytes]
        pos += nbytes
        if kind == "text":
            lengths = read_varints(data, count)
            skip = len(varints(lengths))
            text = data[skip:].decode("utf-8")
            units = text.encode("utf-16-le")
            bounds = np.concatenate([[0], np.cumsum(lengths)]) * 2
            out[key] = [units[a:b].decode("utf-16-le") for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
        else:
            v = read_varints(data, count)
            if kind == "zdelta":
                v = np.cumsum((v >> 1) ^ -(v & 1))
            out[key] = v.tolist()
    return out


def gzipped(data: bytes) -> str:
    """``data`` gzip-compressed (no timestamp: the same page for the same data), in base 64 (inflated by ``DecompressionStream``)."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31, 8, zlib.Z_FILTERED)
    return base64.b64encode(z.compress(data) + z.flush()).decode("ascii")


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
    uniques = uniques.tolist()
    values = [u.strip() if type(u) is str else clean(u) for u in uniques] if clean is _clean else [clean(u) for u in uniques]
    values.append(clean(None))
    codes = np.where(codes < 0, len(values) - 1, codes)
    return codes, values


def _cleaned(series: pd.Series, clean=_clean) -> list[str]:
    """The column's values cleaned, in row order (each distinct value cleaned once)."""
    codes, values = _factorize(series, clean)
    return np.asarray(values, dtype=object)[codes].tolist()


def _keys(codes: np.ndarray, values: list, keys: list) -> np.ndarray:
    """Codes into ``values`` turned into indices into ``keys`` (-1 for a value not in ``keys``)."""
    where = {k: j for j, k in enumerate(keys)}
    return np.array([where.get(v, -1) for v in values], dtype=np.int64)[codes]


def _theme_key(text: str) -> str:
    from geodata.selection import normalize

    return normalize(text)


def _hilbert_tables() -> tuple[np.ndarray, np.ndarray]:
    """The Hilbert curve as a 4-state machine: for (state, x bit, y bit) of one level, its quadrant digit and the next state.

    Derived from the classic ``xy2d`` step (digit ``(3 * rx) ^ ry``, then the lower bits reflected when
    ``ry == 0``): a state is the reflection in force, a map of the four (x bit, y bit) pairs.
    """
    def step(rx: int, ry: int):  # the reflection xy2d applies to the lower bits after this quadrant
        if ry:
            return lambda b: b
        return (lambda b: (1 - b[1], 1 - b[0])) if rx else (lambda b: (b[1], b[0]))

    pairs = [(0, 0), (0, 1), (1, 0), (1, 1)]
    states, digit, nxt, todo = {tuple(pairs): 0}, {}, {}, [tuple(pairs)]
    while todo:
        state = todo.pop()
        for bx, by in pairs:
            rx, ry = state[bx * 2 + by]
            move = step(rx, ry)
            after = tuple(move(state[b[0] * 2 + b[1]]) for b in pairs)
            if after not in states:
                states[after] = len(states)
                todo.append(after)
            digit[states[state], bx * 2 + by] = (3 * rx) ^ ry
            nxt[states[state], bx * 2 + by] = after
    n = len(states)
    d_table, s_table = np.zeros(n * 4, dtype=np.int64), np.zeros(n * 4, dtype=np.int64)
    for (k, q), v in digit.items():
        d_table[k * 4 + q], s_table[k * 4 + q] = v, states[nxt[k, q]]
    return d_table, s_table


_HILBERT_DIGIT, _HILBERT_NEXT = _hilbert_tables()


def hilbert_keys(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Position of each (x, y) of a ``2**bits`` grid along a Hilbert curve (``xy2d``, vectorised as a state machine)."""
    x, y = x.astype(np.int64), y.astype(np.int64)
    d, state = np.zeros(len(x), dtype=np.int64), np.zeros(len(x), dtype=np.int64)
    for level in range(bits - 1, -1, -1):
        index = state * 4 + ((x >> level) & 1) * 2 + ((y >> level) & 1)
        d = (d << 2) | _HILBERT_DIGIT[index]
        state = _HILBERT_NEXT[index]
    return d


def spatial_order(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Positions sorted along a Hilbert curve: neighbours on the map are neighbours in the payload.

    Coordinate differences stay small (a few bytes each once coded), and so do the commune codes;
    repeated words of names and summaries are found close together by the compressor.
    """
    if len(xs) == 0:
        return np.array([], dtype=np.int64)

    def grid(v):
        lo, hi = int(v.min()), int(v.max())
        return ((v - lo) * (0xFFFF / max(hi - lo, 1))).astype(np.int64)

    return np.argsort(hilbert_keys(grid(xs), grid(ys)), kind="stable")


#: The columns :func:`actor_payload` reads (all public fields, see geodata.actors.PUBLIC_FIELDS).
_READ = ("id", "nom", "type_structure", "famille", "commune_lieu", "commune", "code_departement", "thematiques", "presentation_resume", "site_web")


def actor_payload(actors: gpd.GeoDataFrame) -> dict:
    """Columns of the placed actors (public fields only), in spatial order; see :func:`embedded_payload`.

    Actors without a location are left out (the page lists them in its table).

    Parameters
    ----------
    actors : GeoDataFrame
        The directory (``id``, ``nom``, ``type_structure``, ``famille``, ``commune_lieu`` or ``commune``,
        ``code_departement``, ``thematiques``, ``presentation_resume``, ``site_web``; Point geometry in EPSG:4326).

    Returns
    -------
    dict
        ``columns``: ``lat``/``lon`` (integers of 1e-5 degree), ``t``/``f``/``d``/``c``/``h`` (indices
        into ``types``, ``families``, ``depts``, ``communes`` and ``combos``, the theme combinations as
        lists of indices into ``themes``), ``n``/``s``/``u``/``i`` (name, summary, http(s) URL or empty,
        actor id or empty: the client then uses ``idMark`` followed by the actor's position + 1).
        ``order``: the position in ``actors``' placed rows of each actor of the columns (not sent).
    """
    placed = actors[placed_mask(actors)]
    n = len(placed)
    xs = np.round(placed.geometry.x.to_numpy() * COORD_SCALE).astype(np.int64) if n else np.array([], dtype=np.int64)
    ys = np.round(placed.geometry.y.to_numpy() * COORD_SCALE).astype(np.int64) if n else np.array([], dtype=np.int64)
    order = spatial_order(xs, ys)
    # Only the columns read here are put in spatial order (reordering the whole directory costs more than the rest).
    placed = pd.DataFrame({c: placed[c] for c in _READ if c in placed}, index=placed.index).iloc[order]
    xs, ys = xs[order], ys[order]

    t_codes, t_values = _factorize(_column(placed, "type_structure"), lambda v: type_key(_clean(v)))
    used_types = {t_values[i] for i in np.unique(t_codes)}
    type_keys = [k for k in TYPE_STYLES if k in used_types]

    f_codes, f_values = _factorize(_column(placed, "famille"), lambda v: _clean(v) if _clean(v) in FAMILIES else "autre")
    used_families = {f_values[i] for i in np.unique(f_codes)}
    fam_keys = [k for k in FAMILIES if k in used_families]

    d_codes, d_values = _factorize(_column(placed, "code_departement"))
    dep_codes = sorted({d_values[i] for i in np.unique(d_codes)})

    commune = _column(placed, "commune_lieu").astype("string").fillna("").str.strip()
    if "commune" in placed:
        commune = commune.where(commune != "", placed["commune"].astype("string").fillna("").str.strip())
    c_codes, c_values = _factorize(commune)
    # Communes numbered in order of first appearance: in spatial order their codes then differ little.
    first = np.unique(c_codes, return_index=True)
    by_first = first[0][np.argsort(first[1])]
    communes = [c_values[j] for j in by_first.tolist()]
    c_map = np.full(len(c_values), -1, dtype=np.int64)
    c_map[by_first] = np.arange(len(by_first))

    themes = sorted({t for cell in _column(placed, "thematiques").dropna().unique().tolist() for t in split_list(cell)}, key=_theme_key)
    theme_index = {t: j for j, t in enumerate(themes)}
    h_codes, h_values = _factorize(_column(placed, "thematiques"), lambda v: tuple(dict.fromkeys(theme_index[t] for t in split_list(v))))
    combos = list(dict.fromkeys(h_values))
    h_map = _keys(np.arange(len(h_values)), h_values, combos)

    ids = np.asarray(_cleaned(_column(placed, "id")), dtype=object)
    # An actor's link needs a unique id: a missing or repeated one is left empty and the client shows
    # the mark followed by the actor's position ("~12", never a real id: the mark is longer than any real id's tildes).
    bad = (ids == "") | pd.Series(ids).duplicated(keep=False).to_numpy()
    taken, mark = set(ids[~bad].tolist()), "~"
    while any(t.startswith(mark) for t in taken):
        mark += "~"
    ids[bad] = ""
    f_keys = _keys(f_codes, f_values, fam_keys)
    columns = {
        "lat": ys, "lon": xs,
        "t": _keys(t_codes, t_values, type_keys), "f": f_keys, "d": _keys(d_codes, d_values, dep_codes),
        "c": c_map[c_codes], "h": h_map[h_codes],
        "n": _cleaned(_column(placed, "nom")),
        "i": ids.tolist(),
        "s": _cleaned(_column(placed, "presentation_resume")),
        "u": _cleaned(_column(placed, "site_web"), lambda v: safe_url(_clean(v)) or ""),
    }
    return {
        "scale": COORD_SCALE,
        "count": n,
        "columns": columns,
        "order": order,
        "idMark": mark,
        "communes": communes,
        "combos": [list(c) for c in combos],
        "types": [{"key": k, "label": TYPE_STYLES[k].label, "color": TYPE_STYLES[k].color, "letter": TYPE_STYLES[k].letter} for k in type_keys],
        "families": [{"key": k, "label": FAMILIES[k], "color": FAMILY_COLORS[k]} for k in fam_keys],
        "depts": dep_codes,
        "themes": themes,
        "family_counts": np.bincount(f_keys, minlength=len(fam_keys)).tolist() if n else [],
    }


#: How each column travels (see :func:`binary_payload`); the client reads the same names.
_LAYOUT = (("lat", "zdelta"), ("lon", "zdelta"), ("d", "varint"), ("c", "zdelta"), ("n", "text"), ("i", "text"), ("s", "text"), ("u", "text"))


def _kinds(cols: dict) -> tuple[np.ndarray, np.ndarray]:
    """Type, family and themes of each actor as one code into a table of the distinct triples, the most frequent first.

    The three go together (a type mostly has its family and its themes), so one small code per actor
    compresses better than three; the client expands them back (``kt``/``kf``/``kh``: the table's columns).
    """
    t, f, h = (np.asarray(cols[k], dtype=np.int64) for k in ("t", "f", "h"))
    if t.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    nf, nh = int(f.max()) + 2, int(h.max()) + 2  # one integer per triple (-1, "none", included): a 1-D unique is quick
    codes, inverse, counts = np.unique(((t + 1) * nf + f + 1) * nh + h + 1, return_inverse=True, return_counts=True)
    triples = np.stack([codes // (nf * nh) - 1, codes // nh % nf - 1, codes % nh - 1], axis=1)
    by_count = np.argsort(-counts, kind="stable")
    rank = np.empty_like(by_count)
    rank[by_count] = np.arange(len(by_count))
    return rank[inverse.reshape(-1)], triples[by_count]


def embedded_payload(payload: dict) -> dict:
    """The payload as written into the page: the columns and communes as one gzipped binary block ``z``, in base 64.

    Everything else (types, families, departments, themes, combinations) stays plain JSON. Base 64
    is plain ASCII: the block cannot close the ``<script>`` element whatever the strings hold.
    """
    out = {k: v for k, v in payload.items() if k not in ("columns", "order", "communes")}
    cols = payload["columns"]
    kinds, table = _kinds(cols)
    blob = binary_payload([("k", "varint", kinds), ("kt", "varint", table[:, 0]), ("kf", "varint", table[:, 1]), ("kh", "varint", table[:, 2]),
                           *((key, kind, cols[key]) for key, kind in _LAYOUT), ("communes", "text", payload["communes"])])
    out["z"] = gzipped(blob)
    return out


def embedded_columns(z: str) -> dict:
    """Inverse of the ``z`` field of :func:`embedded_payload`: ``{key: list}``, ``t``/``f``/``h`` expanded (for tests and tools)."""
    cols = read_binary_payload(gzip.decompress(base64.b64decode(z)))
    for key in ("t", "f", "h"):
        cols[key] = [cols[f"k{key}"][k] for k in cols["k"]]
    return cols


def embedded_strings(z: str) -> list[str]:
    """Every text of the ``z`` field (names, ids, summaries, links, communes), for tests and tools."""
    cols = embedded_columns(z)
    return [s for key, kind in (*_LAYOUT, ("communes", "text")) if kind == "text" for s in cols[key]]


# -- the page --------------------------------------------------------------------------------------------

_MARKER = re.compile(r"__CSTI_([A-Z]+)__")


#: The last results of :func:`places_payload` and of the places' block of :func:`page_payload`, by content: the
#: reference changes far less often than the directory, and every page written rebuilt them (~40 ms at each write).
_REFERENCE_MEMO: dict[str, tuple] = {}


def _memoised(name: str, key, build):
    """``build()``, or its last result when it was built for the same ``key``; one entry per ``name``."""
    hit = _REFERENCE_MEMO.get(name)
    if hit is None or hit[0] != key:
        hit = _REFERENCE_MEMO[name] = (key, build())
    return hit[1]


def _content_key(frame: pd.DataFrame | None, columns: list[str]) -> tuple:
    """A digest of ``frame``'s values in ``columns`` (those it has) and of their order."""
    if frame is None or not len(frame):
        return ()
    present = [c for c in columns if c in frame]
    hashed = pd.util.hash_pandas_object(pd.DataFrame({c: frame[c] for c in present}), index=False).to_numpy()
    return (len(frame), tuple(present), hashlib.sha256(hashed.tobytes()).hexdigest())


def places_payload(communes: gpd.GeoDataFrame, codes_postaux: pd.DataFrame | None = None) -> list:
    """Places of the search box: ``[name, "postcodes separated by spaces", lat, lon]`` per commune, most populated first.

    The point is the commune's town hall (or a point inside it): ``point_lat``/``point_lon`` of the
    reference, else a representative point of its outline. Memoised by content (the list is shared: read it, do not change it).
    """
    if not ("point_lat" in communes and "point_lon" in communes):
        return _places(communes, codes_postaux)
    key = (_content_key(communes, ["nom", "code_insee", "point_lat", "point_lon", "population"]),
           _content_key(codes_postaux, ["code_postal", "code_insee"]))
    return _memoised("places", key, lambda: _places(communes, codes_postaux))


def _places(communes: gpd.GeoDataFrame, codes_postaux: pd.DataFrame | None) -> list:
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
    """Everything the client reads: the actors (see :func:`actor_payload`), places and outlines in ``g``, the config.

    ``g`` is a gzipped :func:`binary_payload` too: the places' names (``pn``), postcodes (``pc``) and points
    (``plat``/``plon``, 1e-5 degree), in the order of :func:`places_payload`, and the outlines' GeoJSON (``outlines``).
    """
    payload = embedded_payload(actor_payload(actors))
    names = {}
    if departements is not None and "nom" in departements:
        names = dict(zip(departements["code_departement"].astype(str), departements["nom"].astype(str)))
    payload["deptNames"] = {c: names[c] for c in payload["depts"] if c in names}
    places = places or []
    outlines = json.dumps(_outlines(departements), ensure_ascii=False, separators=(",", ":"))
    payload["g"] = _memoised("g", (tuple(map(tuple, places)), outlines), lambda: gzipped(binary_payload([
        ("pn", "text", [p[0] for p in places]),
        ("pc", "text", [p[1] for p in places]),
        ("plat", "zdelta", np.round(np.array([p[2] for p in places], dtype=float) * COORD_SCALE).astype(np.int64)),
        ("plon", "zdelta", np.round(np.array([p[3] for p in places], dtype=float) * COORD_SCALE).astype(np.int64)),
        ("outlines", "text", [outlines]),
    ])))
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
        "ENGINE": escape_text(f"{prefix}carte-worker.js?v={_file_version(CLIENT_DIR / 'carte-worker.js')}"),
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
