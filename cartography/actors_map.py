"""The public map of actors: compact columnar data drawn client-side as clustered markers, safe with any text.

Folium's one ``Marker`` per actor writes ~1 KB of JavaScript per actor and escapes nothing. Here the
actors travel once as packed columns (coordinates as integers of 1e-5 degree, types, families and
departments as indices, all written as fixed-width base-64 digits; every distinct string once in a
table, sent gzip-compressed and base-64 encoded, inflated in the browser by the native
``DecompressionStream``) and Leaflet.markercluster builds the markers in the browser. Popups,
tooltips and the search box are built with DOM APIs (``textContent``), so no data string is ever
parsed as HTML; the few HTML snippets written in Python (legend, layer labels) go through
:func:`cartography.escape.escape_text`.
"""

from __future__ import annotations

import base64
import gzip
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.elements import JSCSSMixin
from jinja2 import Template

from cartography.assets import STREAMLIT_PREFIX, asset_urls
from cartography.base import BASE_LAYERS, base_map, tile_layers
from cartography.escape import escape_text, safe_url
from cartography.style import FAMILY_COLORS, TYPE_STYLES, type_key
from geodata.actors import FAMILIES, placed_mask

#: Coordinates travel as integers of 1e-5 degree (about 1 m).
COORD_SCALE = 100_000
#: Commune outlines are fetched and drawn from this zoom on.
COMMUNES_MIN_ZOOM = 10
PERMALINK_MODES = ("parent", "hash", None)
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
    raw = json.dumps(payload["strings"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    out["z"] = base64.b64encode(gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)).decode("ascii")
    return out


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
        ``strings``: name, commune, summary, http(s) URL or empty).
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
    table: dict[str, int] = {}
    columns = {}
    for key, series, clean in (
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
        "family_counts": np.bincount(f_map[f_codes], minlength=len(fam_keys)).tolist() if len(placed) else [],
    }


def _legend_html(payload: dict) -> str:
    rows = [
        f'<div><span class="csti-dot" style="background:{t["color"]}">{escape_text(t["letter"])}</span> {escape_text(t["label"])}</div>'
        for t in payload["types"]
    ]
    return '<div class="csti-legend-title">Types de structure</div>' + "".join(rows)


def _family_labels(payload: dict) -> list[str]:
    counts = payload["family_counts"]
    return [
        f'<span class="csti-ring" style="border-color:{f["color"]}"></span> {escape_text(f["label"])} ({int(c)})'
        for f, c in zip(payload["families"], counts)
    ]


_CSS = """
<style>
.csti-marker span{display:block;width:18px;height:18px;border-radius:50%;border:3px solid #fff;color:#fff;font:bold 11px/18px sans-serif;
 text-align:center;box-shadow:0 0 2px rgba(0,0,0,.6)}
.csti-dot{display:inline-block;width:16px;height:16px;border-radius:50%;color:#fff;font:bold 10px/16px sans-serif;text-align:center;margin-right:4px}
.csti-ring{display:inline-block;width:10px;height:10px;border-radius:50%;border:3px solid;vertical-align:middle}
.csti-legend,.csti-count,.csti-filters{background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);
 font:12px/1.5 sans-serif;color:#222}
.csti-legend-title{font-weight:bold;margin-bottom:2px}
.leaflet-control-layers{font:13px/1.5 sans-serif}
.csti-count{font-weight:bold}
.csti-filters input,.csti-filters select{display:block;width:14em;margin:2px 0;font-size:12px}
.csti-card{font:13px/1.4 sans-serif;max-width:300px}
.csti-card .csti-name{display:block;font-size:14px;margin-bottom:2px}
.csti-card .csti-type,.csti-card .csti-commune{color:#444}
.csti-card p{margin:6px 0}
</style>
"""


class ActorLayer(JSCSSMixin):
    """Clustered actor markers with legend, family layers, popups, tooltips and optional in-map filters."""

    _template = Template(
        """
{% macro header(this, kwargs) %}""" + _CSS + """{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }};
  var D = {{ this.payload }};
  var S = null, N = D.count, k = 1 / D.scale;
  var B64 = {}, ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (var a = 0; a < 64; a++) { B64[ALPHA.charCodeAt(a)] = a; }
  function inflate(b64) {  // gzipped JSON in base 64 -> value (native DecompressionStream, no library)
    return Promise.resolve().then(function () {
      var bin = atob(b64), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      return new Response(stream).text();
    }).then(JSON.parse);
  }
  function unpack(p) {
    var w = p[0], off = p[1], s = p[2], out = new Int32Array(s.length / w);
    for (var i = 0, pos = 0; i < out.length; i++) {
      var v = 0;
      for (var j = 0; j < w; j++, pos++) { v = v * 64 + B64[s.charCodeAt(pos)]; }
      out[i] = v + off;
    }
    return out;
  }
  ['lat', 'lon', 't', 'f', 'd', 'n', 'c', 's', 'u'].forEach(function (key) { D[key] = unpack(D[key]); });
  var container = map.getContainer();
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  var icons = D.types.map(function (t, j) {
    return D.families.map(function (f) {
      return L.divIcon({className: 'csti-marker', iconSize: [24, 24], iconAnchor: [12, 12], tooltipAnchor: [10, 0],
        html: '<span style="background:' + t.color + ';border-color:' + f.color + '">' + {{ this.letters }}[j] + '</span>'});
    });
  });
  var markers = new Array(N);
  for (var i = 0; i < N; i++) {
    var m = L.marker([D.lat[i] * k, D.lon[i] * k], {icon: icons[D.t[i]][D.f[i]]});
    m._csti = i;
    markers[i] = m;
  }
  var cluster = L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 60});
  cluster.addTo(map);

  function card(i) {
    var d = el('div', 'csti-card');
    d.appendChild(el('strong', 'csti-name', S[D.n[i]]));
    d.appendChild(el('div', 'csti-type', D.types[D.t[i]].label));
    if (S[D.c[i]]) { d.appendChild(el('div', 'csti-commune', S[D.c[i]])); }
    if (S[D.s[i]]) { d.appendChild(el('p', 'csti-summary', S[D.s[i]])); }
    var u = S[D.u[i]];
    if (u && /^https?:\\/\\//i.test(u)) {
      var a = el('a', 'csti-link', 'Site web');
      a.href = u; a.target = '_blank'; a.rel = 'noopener noreferrer';
      d.appendChild(a);
    }
    return d;
  }
  var popup = L.popup({maxWidth: 320, offset: [0, -6]});
  cluster.on('click', function (e) {
    popup.setLatLng(e.layer.getLatLng()).setContent(card(e.layer._csti)).openOn(map);
  });
  cluster.on('mouseover', function (e) {
    var m = e.layer;
    if (!m.getTooltip()) {
      m.bindTooltip(el('span', 'csti-tip', S[D.n[m._csti]]), {direction: 'top', offset: [0, -10]});
      m.openTooltip();
    }
  });

  var state = {fam: D.families.map(function () { return true; }), q: '', type: -1, dept: -1};
  var hay = null;
  function norm(s) { return s.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase(); }
  function keep(i) {
    if (!state.fam[D.f[i]]) { return false; }
    if (state.type >= 0 && D.t[i] !== state.type) { return false; }
    if (state.dept >= 0 && D.d[i] !== state.dept) { return false; }
    if (state.q) {
      if (!hay) { hay = S.map(norm); }
      if (hay[D.n[i]].indexOf(state.q) < 0 && hay[D.c[i]].indexOf(state.q) < 0) { return false; }
    }
    return true;
  }
  var counter = L.control({position: 'topright'});
  counter.onAdd = function () { this._div = el('div', 'csti-count'); this._div.setAttribute('role', 'status'); return this._div; };
  counter.addTo(map);
  counter._div.textContent = 'Chargement des acteurs…';
  var ready = false;
  function refresh() {
    if (!ready) { return; }
    var sel = [];
    for (var i = 0; i < N; i++) { if (keep(i)) { sel.push(markers[i]); } }
    cluster.clearLayers();
    cluster.addLayers(sel);
    counter._div.textContent = sel.length + (sel.length > 1 ? ' acteurs affichés' : ' acteur affiché');
    container.setAttribute('data-csti-total', String(N));
    container.setAttribute('data-csti-shown', String(sel.length));
  }
  var Family = L.Layer.extend({
    initialize: function (j) { this._j = j; },
    onAdd: function () { state.fam[this._j] = true; if (ready) { refresh(); } },
    onRemove: function () { state.fam[this._j] = false; if (ready) { refresh(); } }
  });
  var familyLabels = {{ this.family_labels }};
  var overlays = {}, bases = {};
  D.families.forEach(function (f, j) { var layer = new Family(j); overlays[familyLabels[j]] = layer; layer.addTo(map); });
  {% for key, name, label in this.bases %}bases[{{ label }}] = {{ name }};
  {% endfor %}
  {% if this.has_none_base %}var noBase = L.layerGroup(); bases['Aucun fond'] = noBase;
  {% if this.base_none_shown %}noBase.addTo(map);{% endif %}{% endif %}
  L.control.layers(bases, overlays, {collapsed: {{ this.collapsed }}, position: 'topright'}).addTo(map);

  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function () { var d = el('div', 'csti-legend'); d.innerHTML = {{ this.legend }}; return d; };
  legend.addTo(map);

  {% if this.controls %}
  var box = L.control({position: 'topleft'});
  box.onAdd = function () {
    var d = el('div', 'csti-filters');
    var q = el('input'); q.type = 'search'; q.placeholder = 'Nom ou commune'; q.setAttribute('aria-label', 'Rechercher un nom ou une commune');
    var ts = el('select'); ts.setAttribute('aria-label', 'Type de structure'); ts.appendChild(el('option', null, 'Tous les types')).value = '-1';
    D.types.forEach(function (t, j) { ts.appendChild(el('option', null, t.label)).value = String(j); });
    var ds = el('select'); ds.setAttribute('aria-label', 'Département'); ds.appendChild(el('option', null, 'Tous les départements')).value = '-1';
    D.depts.forEach(function (c, j) { ds.appendChild(el('option', null, c)).value = String(j); });
    q.addEventListener('input', function () { state.q = norm(q.value.trim()); refresh(); });
    ts.addEventListener('change', function () { state.type = parseInt(ts.value, 10); refresh(); });
    ds.addEventListener('change', function () { state.dept = parseInt(ds.value, 10); refresh(); });
    d.appendChild(q); d.appendChild(ts); d.appendChild(ds);
    L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  box.addTo(map);
  {% endif %}

  var communesUrl = {{ this.communes_url }}, communes = null, loading = false;
  function communeOutlines() {
    if (!communesUrl) { return; }
    var z = map.getZoom();
    if (z >= {{ this.communes_min_zoom }}) {
      if (communes) { if (!map.hasLayer(communes)) { communes.addTo(map); } return; }
      if (loading) { return; }
      loading = true;
      fetch(communesUrl).then(function (r) { return r.json(); }).then(function (j) {
        communes = L.geoJSON(j, {interactive: false, style: {color: '#78909c', weight: 0.8, fill: false}});
        communeOutlines();
      }).catch(function () { loading = false; });
    } else if (communes && map.hasLayer(communes)) { map.removeLayer(communes); }
  }
  map.on('zoomend', communeOutlines);

  {% if this.permalink == "parent" %}
  function saveView() {
    try {
      var w = window.parent, u = new URL(w.location.href), c = map.getCenter();
      u.searchParams.set('lat', c.lat.toFixed(4)); u.searchParams.set('lon', c.lng.toFixed(4)); u.searchParams.set('z', String(+map.getZoom().toFixed(2)));
      w.history.replaceState(w.history.state, '', u.toString());
    } catch (err) { /* not embedded in the app: no permalink */ }
  }
  function saveBase(e) {
    try {
      var keys = {{ this.base_keys }}, w = window.parent, u = new URL(w.location.href);
      u.searchParams.set('fond', keys[e.name] || 'plan_ign');
      w.history.replaceState(w.history.state, '', u.toString());
    } catch (err) { /* idem */ }
  }
  map.on('moveend', saveView); map.on('baselayerchange', saveBase);
  {% elif this.permalink == "hash" %}
  var h = /^#([\\d.]+)\\/(-?[\\d.]+)\\/(-?[\\d.]+)$/.exec(window.location.hash);
  if (h) { map._cstiViewSet = true; map.setView([parseFloat(h[2]), parseFloat(h[3])], parseFloat(h[1])); }
  map.on('moveend', function () {
    var c = map.getCenter();
    history.replaceState(null, '', '#' + (+map.getZoom().toFixed(2)) + '/' + c.lat.toFixed(4) + '/' + c.lng.toFixed(4));
  });
  {% endif %}
  if ({{ this.attribution }}) { map.attributionControl.addAttribution({{ this.attribution }}); }
  inflate(D.z).then(function (strings) {
    S = strings;
    ready = true;
    refresh();
  }, function () {  // no DecompressionStream (browsers before 2023): say so rather than show an empty map
    counter._div.textContent = 'Acteurs non affichés : navigateur trop ancien (il faut Chrome 80, Firefox 113, Safari 16.4 ou plus récent).';
  });
  communeOutlines();
  window.cstiMap = {map: map, cluster: cluster, markers: markers, refresh: refresh, state: state};
})();
{% endmacro %}
"""
    )

    def __init__(
        self,
        payload: dict,
        *,
        prefix: str = STREAMLIT_PREFIX,
        controls: bool = False,
        communes_url: str | None = None,
        permalink: str | None = None,
        collapsed: bool = True,
        data_url: str | None = None,
    ):
        super().__init__()
        if permalink not in PERMALINK_MODES:
            raise ValueError(f"permalink doit valoir l'une de {PERMALINK_MODES}, pas {permalink!r}")
        self._name = "ActorLayer"
        self.payload = js_json(embedded_payload(payload))
        self.letters = js_json([escape_text(t["letter"]) for t in payload["types"]])
        self.legend = js_json(_legend_html(payload))
        self.family_labels = js_json(_family_labels(payload))
        self.controls = controls
        self.communes_url = js_json(communes_url)
        self.communes_min_zoom = COMMUNES_MIN_ZOOM
        self.permalink = permalink
        self.collapsed = "true" if collapsed else "false"
        self.attribution = js_json(f'<a href="{escape_text(data_url)}">Données des acteurs (GeoJSON)</a>' if data_url else "")
        self.base_keys = js_json({name: key for key, (name, _, _) in BASE_LAYERS.items()})
        js, css = asset_urls(prefix)
        self.default_js = [(n, u) for n, u in js if n == "markercluster"]
        self.default_css = [(n, u) for n, u in css if n != "leaflet_css"]
        self.bases: list = []
        self.has_none_base = True
        self.base_none_shown = False

    def render(self, **kwargs):
        m = self._parent
        self.bases = [(key, name, js_json(BASE_LAYERS[key][0])) for key, name, _ in tile_layers(m)]
        self.base_none_shown = getattr(m, "csti_base", "") == "aucun"
        # The script (megabytes of data) is not parsed again as a template: see cartography.verbatim.
        super().render(**kwargs)


def actors_map(
    actors: gpd.GeoDataFrame,
    departements: gpd.GeoDataFrame | None = None,
    *,
    base: str = "plan_ign",
    prefix: str = STREAMLIT_PREFIX,
    location=None,
    zoom: float | None = None,
    controls: bool = False,
    communes_url: str | None = None,
    permalink: str | None = None,
    data_url: str | None = None,
) -> folium.Map:
    """The public map: base map, department outlines, clustered actors by family with legend, popups, tooltips.

    Parameters
    ----------
    actors : GeoDataFrame
        Actors to draw (already filtered); see :func:`actor_payload` for the columns used.
    departements : GeoDataFrame, optional
        Departments outlined on the map.
    base : {"plan_ign", "osm", "aucun"}
        Initial base layer.
    prefix : str
        URL prefix of the local Leaflet assets.
    location, zoom :
        Initial view (latitude, longitude) and zoom; without ``zoom`` the map fits Occitanie.
    controls : bool
        Add in-map search, type and department filters (for the static site, which has no Python).
    communes_url : str, optional
        URL of the simplified commune outlines GeoJSON, fetched only when zoomed in (zoom ≥ 10).
    permalink : {"parent", "hash", None}
        Keep the view in the URL: of the embedding app page (``lat``, ``lon``, ``z``, ``fond`` query
        parameters) or in the page's own ``#zoom/lat/lon`` hash.
    data_url : str, optional
        Link to the open data file, shown in the attribution line.
    """
    m = base_map(departements, base=base, prefix=prefix, location=location or (43.7, 2.3), zoom=zoom)
    ActorLayer(actor_payload(actors), prefix=prefix, controls=controls, communes_url=communes_url, permalink=permalink, data_url=data_url).add_to(m)
    return m


def map_html(m: folium.Map) -> str:
    """The standalone HTML page of a map."""
    return m.get_root().render()


def map_parts(m: folium.Map) -> tuple[str, str, str]:
    """The ``<head>`` content, ``<body>`` content and script of a map's page, rendered apart (as :func:`map_html` would)."""
    root = m.get_root()
    for child in root._children.values():
        child.render()
    return root.header.render(), root.html.render(), root.script.render()
