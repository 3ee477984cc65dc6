/* The public map of the CSTI directory: one client for the app's Carte page and the static site.
 *
 * The page carries the data as one JSON block (<script type="application/json" id="csti-data">,
 * never executed): packed integer columns and a gzipped string table (see cartography/actors_map.py).
 * Filtering, search, the list, the cards and the CSV download all run here, in the browser.
 * Every text that comes from data is set with textContent, never parsed as HTML; links pass
 * safeUrl, the same rule as cartography/escape.py safe_url (tests/browser/test_map_rules.py).
 */
(function () {
  'use strict';

  // ---- Rules shared with the Python code (one rule each; a browser test proves they agree) ----------

  // Python's str.isspace() characters (str.strip() removes them, safe_url refuses them inside a URL).
  var PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

  function pyStrip(text) {
    var a = 0, b = text.length;
    while (a < b && PY_SPACE.test(text.charAt(a))) { a++; }
    while (b > a && PY_SPACE.test(text.charAt(b - 1))) { b--; }
    return text.slice(a, b);
  }

  /** The URL when it is a plain http(s) address with a host, else null (mirror of escape.safe_url). */
  function safeUrl(value) {
    if (value === null || value === undefined) { return null; }
    var text = pyStrip(String(value));
    if (!text) { return null; }
    for (var i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) < 32 || PY_SPACE.test(text.charAt(i))) { return null; }
    }
    var m = /^([A-Za-z][A-Za-z0-9+.\-]*):/.exec(text);
    if (!m) { return null; }
    var scheme = m[1].toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') { return null; }
    var rest = text.slice(m[0].length);
    if (rest.slice(0, 2) !== '//') { return null; }
    var netloc = rest.slice(2).split(/[\/?#]/)[0];
    if (!netloc) { return null; }
    var open = netloc.indexOf('['), close = netloc.indexOf(']');
    if ((open >= 0) !== (close >= 0)) { return null; }
    if (open >= 0) {  // a bracketed host must be an IPv6 address (urlsplit checks it too)
      var host = netloc.slice(open + 1, close);
      if (!/^[0-9A-Fa-f:.]+$/.test(host) || host.indexOf(':') < 0) { return null; }
    }
    return text;
  }

  // A cell starting with one of these runs as a formula in a spreadsheet (geodata/spreadsheet.py).
  var FORMULA_START = ['=', '+', '-', '@', '\t', '\r'];
  var PLAIN_NUMBER = /^[+-]?\d+(?:[.,]\d+)?$/;

  /** A text cell that would run as a formula, prefixed with an apostrophe (mirror of neutralise_value). */
  function csvCell(value) {
    if (typeof value === 'string' && FORMULA_START.indexOf(value.charAt(0)) >= 0 && value.length && !PLAIN_NUMBER.test(value)) {
      return "'" + value;
    }
    return value;
  }

  var NUMBER = new Intl.NumberFormat('fr-FR', {minimumFractionDigits: 1, maximumFractionDigits: 1});
  var INTEGER = new Intl.NumberFormat('fr-FR');  // one formatter: toLocaleString builds a new one at each call

  function int(n) { return INTEGER.format(n); }

  /** "à 850 m", "à 3,2 km" (French number format). */
  function distanceLabel(metres) {
    // A position is known to about a hundred metres at best (an address; a commune's town hall when only the
    // commune is known): no finer figure than that.
    if (metres < 100) { return 'à moins de 100\u00a0m'; }
    var rounded = Math.round(metres / 100) * 100;
    if (rounded < 1000) { return 'à ' + rounded + '\u00a0m'; }
    return 'à ' + NUMBER.format(metres / 1000).replace(/\u202f|\u00a0/g, '\u00a0') + '\u00a0km';
  }

  /** "0 acteur affiché", "1 acteur affiché", "2 acteurs affichés" (French: the plural starts at 2). */
  function plural(n, one, many) {
    return int(n) + ' ' + (n >= 2 ? many : one);
  }

  window.cstiRules = {safeUrl: safeUrl, csvCell: csvCell, distanceLabel: distanceLabel, plural: plural};

  var dataBlock = document.getElementById('csti-data');
  if (!dataBlock || typeof L === 'undefined') { return; }  // loaded for its rules only (tests)

  // ---- Small helpers ---------------------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function $(id) { return document.getElementById(id); }

  var norm = window.cstiEngine.norm;

  function metresBetween(lat1, lon1, lat2, lon2) {  // haversine, good to a few metres at this scale
    var r = Math.PI / 180, dLat = (lat2 - lat1) * r, dLon = (lon2 - lon1) * r;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 12742000 * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  function debounce(fn, ms) {
    var t = null;
    var call = function () { clearTimeout(t); t = setTimeout(fn, ms); };
    call.cancel = function () { clearTimeout(t); };
    return call;
  }

  // ---- Data --------------------------------------------------------------------------------------------

  // The JSON block holds the labels and the settings; the actors travel in D.z (see carte-worker.js), decoded
  // by the engine (a Web Worker) which sends the page the decompressed bytes: the page then cuts its own texts.
  var D = JSON.parse(dataBlock.textContent), cfg = D.cfg, N = D.count;
  var C = null, LAT = null, LON = null, PLACES = [], nameRank = null, byRank = null;

  // The engine's worker was started by carte-worker.js in the page's head; without one, the engine runs here.
  var superclusterUrl = window.cstiEngine.superclusterUrl;
  var engine = window.cstiEngine.worker || null, sentBeforeData = [], handlers = {};
  var seq = {filter: 0, clusters: 0, suggest: 0, expand: 0};
  if (engine && !window.cstiEngine.workerFailed) {
    engine.onmessage = function (e) { onEngine(e.data); };
    engine.onerror = function (e) { if (sentBeforeData) { e.preventDefault(); fallBack(); } };
  } else {
    fallBack();
  }
  var ready = false;  // the texts are in (C), so the cards, the list and the CSV can run

  function name(i) { return C.n.get(i); }
  function communeOf(i) { return C.communes.get(C.c[i]); }
  function actorId(i) { return C.i.get(i) || D.idMark + (i + 1); }
  function themesOf(i) { return D.combos[C.h[i]]; }

  var isApp = cfg.mode === 'app';
  var narrow = window.matchMedia('(max-width: 699px)'), canHover = window.matchMedia('(hover: hover)');

  // ---- The URL state: the page's hash (site) or the embedding app page's query string (app) -------------

  function hostWindow() {
    if (!isApp) { return window; }
    try { void window.parent.location.href; return window.parent; } catch (err) { return window; }
  }

  function readState() {
    var w = hostWindow(), text = isApp ? w.location.search.slice(1) : w.location.hash.slice(1);
    var old = /^([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(text);  // links of the first site: #zoom/lat/lon
    if (old) { text = 'z=' + old[1] + '&lat=' + old[2] + '&lon=' + old[3]; }
    return new URLSearchParams(text);
  }

  var initial = readState();

  function writeState() {
    if (!ready) { return; }  // nothing to keep before the data is in
    var w = hostWindow(), params = isApp ? new URLSearchParams(w.location.search.slice(1)) : new URLSearchParams();
    ['z', 'lat', 'lon', 'fond', 'acteur', 'q', 'type', 'cercle', 'dep', 'theme'].forEach(function (key) { params.delete(key); });
    var c = map.getCenter();
    params.set('z', String(+map.getZoom().toFixed(2)));
    params.set('lat', c.lat.toFixed(4));
    params.set('lon', c.lng.toFixed(4));
    if (baseKey !== cfg.base) { params.set('fond', baseKey); }
    if (current >= 0) { params.set('acteur', actorId(current)); }
    if (state.q) { params.set('q', state.qText); }
    state.types.forEach(function (j) { params.append('type', D.types[j].key); });
    state.fams.forEach(function (j) { params.append('cercle', D.families[j].key); });
    if (state.dep >= 0) { params.set('dep', D.depts[state.dep]); }
    if (state.theme >= 0) { params.set('theme', D.themes[state.theme]); }
    try {
      var u = new URL(w.location.href);
      if (isApp) { u.search = params.toString(); } else { u.hash = params.toString(); }
      w.history.replaceState(w.history.state, '', u.toString());
    } catch (err) { /* a sandboxed frame: no permalink */ }
  }

  function actorLink(i) {
    var w = hostWindow(), u = new URL(w.location.href);
    if (isApp) { u.search = 'acteur=' + encodeURIComponent(actorId(i)); u.hash = ''; } else { u.hash = 'acteur=' + encodeURIComponent(actorId(i)); }
    return u.toString();
  }

  // ---- The map -------------------------------------------------------------------------------------------

  var mapEl = $('csti-map');
  var map = L.map(mapEl, {zoomControl: false, maxZoom: 18, minZoom: 5, zoomSnap: 0.25, preferCanvas: true, attributionControl: true});
  // Focusing the map must not scroll the embedding page (the first click on the map was lost to that scroll).
  mapEl.focus = function () { HTMLElement.prototype.focus.call(mapEl, {preventScroll: true}); };
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="Bibliothèque de cartes Leaflet">Leaflet</a>');
  L.control.zoom({position: 'bottomright', zoomInTitle: 'Zoom avant', zoomOutTitle: 'Zoom arrière'}).addTo(map);
  L.control.scale({position: 'bottomleft', imperial: false}).addTo(map);

  var bases = {}, baseKey = cfg.base, baseByKey = {};
  cfg.bases.forEach(function (b) {
    var layer = b.url ? L.tileLayer(b.url, {attribution: b.attribution, maxZoom: 18}) : L.layerGroup();
    layer._cstiKey = b.key;
    bases[b.label] = layer;
    baseByKey[b.key] = layer;
  });
  if (baseByKey[initial.get('fond')]) { baseKey = initial.get('fond'); }
  baseByKey[baseKey].addTo(map);
  var layers = L.control.layers(bases, null, {position: 'bottomright', collapsed: true}).addTo(map);
  var toggle = layers.getContainer().querySelector('.leaflet-control-layers-toggle');
  toggle.title = 'Fonds de carte';
  toggle.setAttribute('aria-label', 'Choisir le fond de carte');
  map.on('baselayerchange', function (e) { baseKey = e.layer._cstiKey; writeState(); });

  // What the map shows is fitted to the part no panel covers: under the search bar, the count and the note, and
  // on a desktop beside the open list (the region's east was drawn under it).
  function uncovered(margin) {
    var box = mapEl.getBoundingClientRect(), top = 0, right = 0;
    ['.csti-bar', '.csti-status', '#csti-note'].forEach(function (sel) {
      var e = document.querySelector(sel);
      if (e && !e.hidden && e.offsetHeight) { top = Math.max(top, e.getBoundingClientRect().bottom - box.top); }
    });
    var list = $('csti-list'), bottom = 0, left = 0;
    if (narrow.matches) {  // a phone's open bottom sheet (filters, list or card)
      ['csti-filters', 'csti-list', 'csti-card'].forEach(function (id) {
        var sheet = $(id);
        if (sheet && !sheet.hidden) { bottom = Math.max(bottom, box.bottom - sheet.getBoundingClientRect().top); }
      });
    } else {  // a desktop's side panels: the list on the right, the filters and the card on the left
      if (list && !list.hidden) { right = Math.max(0, box.right - list.getBoundingClientRect().left); }
      ['csti-filters', 'csti-card'].forEach(function (id) {
        var panel = $(id);
        if (panel && !panel.hidden) { left = Math.max(left, panel.getBoundingClientRect().right - box.left); }
      });
    }
    // Never more than part of the map: a small frame still shows the region.
    top = Math.min(top, box.height * 0.3);
    bottom = Math.max(0, Math.min(bottom, box.height * 0.7, box.height - top - 60));
    right = Math.min(right, box.width / 2);
    left = Math.max(0, Math.min(left, box.width - right - 100));
    return {paddingTopLeft: [left + margin, top + margin], paddingBottomRight: [right + margin, bottom + margin]};
  }

  // Puts a point in the middle of the part of the map no panel covers (on a phone, above the open sheet).
  function centerOn(latlng, zoom) {
    var pad = uncovered(0), tl = pad.paddingTopLeft, br = pad.paddingBottomRight;
    var shift = L.point((br[0] - tl[0]) / 2, (br[1] - tl[1]) / 2);
    map.setView(map.unproject(map.project(latlng, zoom).add(shift), zoom), zoom);
  }

  // Moves the map only if the point is under a panel or a sheet: a tapped marker stays in sight beside its card.
  function keepInSight(latlng) {
    var pad = uncovered(12), size = map.getSize(), p = map.latLngToContainerPoint(latlng);
    var x0 = pad.paddingTopLeft[0], y0 = pad.paddingTopLeft[1], x1 = size.x - pad.paddingBottomRight[0], y1 = size.y - pad.paddingBottomRight[1];
    if (p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1) { return; }
    map.panBy([p.x - (x0 + x1) / 2, p.y - (y0 + y1) / 2]);
  }

  function fitRegion() { map.fitBounds(cfg.bounds, Object.assign({animate: false}, uncovered(4))); }

  var touched = false, viewSet = false;
  var z0 = parseFloat(initial.get('z')), lat0 = parseFloat(initial.get('lat')), lon0 = parseFloat(initial.get('lon'));
  if (isFinite(z0) && isFinite(lat0) && isFinite(lon0) && z0 >= 0 && z0 <= 18 && Math.abs(lat0) <= 90 && Math.abs(lon0) <= 180) {
    map.setView([lat0, lon0], z0);
    viewSet = true;
  } else {
    fitRegion();
  }
  // The frame gets its final size after the page ran: fit the region again until the visitor moves the map.
  ['mousedown', 'wheel', 'touchstart', 'keydown'].forEach(function (t) { mapEl.addEventListener(t, function () { touched = true; }, {passive: true}); });
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      map.invalidateSize();
      if (!touched && !viewSet && mapEl.clientHeight > 0) { fitRegion(); }
    }).observe(mapEl);
  }

  // ---- Filters ------------------------------------------------------------------------------------------

  var state = {qText: '', q: '', types: [], fams: [], dep: -1, theme: -1};
  (function fromUrl() {
    var q = initial.get('q') || '';
    state.qText = q; state.q = norm(q.trim());
    initial.getAll('type').forEach(function (key) { D.types.forEach(function (t, j) { if (t.key === key && state.types.indexOf(j) < 0) { state.types.push(j); } }); });
    initial.getAll('cercle').forEach(function (key) { D.families.forEach(function (f, j) { if (f.key === key && state.fams.indexOf(j) < 0) { state.fams.push(j); } }); });
    state.dep = D.depts.indexOf(initial.get('dep') || '\u0000');
    state.theme = D.themes.indexOf(initial.get('theme') || '\u0000');
  })();

  // ---- The engine: a Web Worker decodes, filters and clusters; the page asks and draws ---------------------


  function onEngine(msg) { if (handlers[msg.type]) { handlers[msg.type](msg); } }

  /** The engine in this page (when no worker can start, e.g. a page opened from the disk): same messages, slower. */
  function inPageEngine() {
    var queue = [], handle = null;
    var post = function (msg) { if (handle) { setTimeout(function () { handle(msg); }, 0); } else { queue.push(msg); } };
    var start = function () {
      handle = window.cstiEngine.handler(function (message) { setTimeout(function () { onEngine(message); }, 0); });
      queue.forEach(function (m) { setTimeout(function () { handle(m); }, 0); });
      queue = [];
    };
    if (typeof Supercluster !== 'undefined') { start(); } else {
      var s = document.createElement('script');
      s.src = superclusterUrl;
      s.onload = start;
      document.head.appendChild(s);
    }
    return {postMessage: post};
  }

  function fallBack() {
    if (engine && engine.inPage) { return; }
    engine = inPageEngine();
    engine.inPage = true;
    sentBeforeData.forEach(function (m) { engine.postMessage(m); });
  }

  function send(msg) {
    if (sentBeforeData) { sentBeforeData.push(msg); }
    engine.postMessage(msg);
  }


  var sel = new Int32Array(0), counts = null, gen = 0, filtered = [];

  /** Asks the engine for the selection of the current filters; then (optional) runs after it is drawn. */
  function applyFilters(then) {
    if (then) { filtered.push(then); }
    var v = view();
    v.seq = ++seq.clusters;
    send({type: 'filter', seq: ++seq.filter, state: {q: state.q, types: state.types, fams: state.fams, dep: state.dep, theme: state.theme}, view: v});
  }

  handlers.filtered = function (msg) {
    if (msg.seq !== seq.filter) { return; }  // a newer filter is on its way
    sel = msg.sel;
    counts = msg.counts;
    gen = msg.gen;  // the engine sends the clusters of the view next
    renderFilterCounts();
    writeState();
    var todo = filtered;
    filtered = [];
    todo.forEach(function (f) { f(); });
  };

  function isFiltered() { return !!(state.q || state.types.length || state.fams.length || state.dep >= 0 || state.theme >= 0); }

  function resetFilters() {
    state.qText = ''; state.q = ''; state.types = []; state.fams = []; state.dep = -1; state.theme = -1;
    searchBox.value = '';
    syncFilterInputs();
    applyFilters();
  }

  // ---- Markers: the engine gives the clusters and actors of the view; only those are drawn, and kept while in view --

  var drawn = L.layerGroup().addTo(map), markerOf = {}, shown = {};

  function actorMarker(i) {
    var t = D.types[C.t[i]], f = D.families[C.f[i]], nm = name(i), cm = communeOf(i);
    var dot = el('span', 'csti-dot');
    dot.style.background = t.color;
    dot.style.borderColor = f.color;
    dot.setAttribute('data-l', t.letter);
    var m = L.marker([LAT[i], LON[i]], {icon: L.divIcon({className: 'csti-marker', html: dot, iconSize: [24, 24], iconAnchor: [12, 12]}), keyboard: true});
    m._csti = i;
    m.on('click', function () { openCard(i, {}); });
    m.on('add', function () {
      var icon = m.getElement();
      icon.setAttribute('role', 'button');
      icon.setAttribute('aria-label', nm + ' – ' + t.label + (cm ? ', ' + cm : '') + ' : ouvrir la fiche');
      icon.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); e.stopPropagation(); openCard(i, {focus: true}); }
      });
      if (i === current) { icon.classList.add('csti-current'); }
    });
    if (canHover.matches) { m.bindTooltip(el('span', 'csti-tip', nm), {direction: 'top', offset: [0, -10]}); }  // a tap opens the card
    return m;
  }

  var expanding = {};
  handlers.expand = function (msg) {
    var c = expanding[msg.seq];
    delete expanding[msg.seq];
    if (!c) { return; }
    touched = true;  // an index replaced since the cluster was drawn answers -1: two levels closer, then
    map.setView([c[1], c[0]], msg.zoom < 0 ? map.getZoom() + 2 : Math.max(Math.min(msg.zoom, map.getMaxZoom()), map.getZoom() + 1));
  };

  function clusterMarker(lon, lat, n, id, built) {
    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 48;
    var body = el('span', null, int(n));
    var m = L.marker([lat, lon], {icon: L.divIcon({className: 'csti-cluster', html: body, iconSize: [size, size]}), keyboard: true});
    function expand() {
      expanding[++seq.expand] = [lon, lat];
      send({type: 'expand', seq: seq.expand, id: id, gen: built.gen, index: built.index});
    }
    m.on('click', expand);
    m.on('add', function () {
      var icon = m.getElement();
      icon.setAttribute('role', 'button');
      icon.setAttribute('aria-label', 'Groupe de ' + plural(n, 'acteur', 'acteurs') + ' : zoomer');
      icon.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); e.stopPropagation(); expand(); }
      });
    });
    return m;
  }

  function view() {
    var b = map.getBounds(), west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
    return {bbox: [west, Math.max(-85, b.getSouth()), east, Math.min(85, b.getNorth())], zoom: Math.floor(map.getZoom())};
  }

  function draw() {
    if (!ready || !gen) { return; }
    var v = view();
    send({type: 'clusters', seq: ++seq.clusters, bbox: v.bbox, zoom: v.zoom});
  }

  var ranksAsked = false;

  handlers.clusters = function (msg) {
    if (!ready || msg.seq !== seq.clusters || msg.gen !== gen) { return; }  // the view or the selection changed since
    var next = {}, c = msg.clusters, p = msg.points, key, m;
    markerOf = {};
    for (var j = 0; j < c.length; j += 4) {
      key = 'c' + msg.gen + msg.index + ':' + msg.zoom + ':' + c[j + 3];
      m = shown[key] || clusterMarker(c[j], c[j + 1], c[j + 2], c[j + 3], msg);
      next[key] = m;
    }
    for (var q = 0; q < p.length; q++) {
      key = 'p' + p[q];
      m = shown[key] || actorMarker(p[q]);
      next[key] = m;
      markerOf[p[q]] = m;
    }
    for (key in shown) { if (!next[key]) { drawn.removeLayer(shown[key]); } }
    for (key in next) { if (!shown[key]) { drawn.addLayer(next[key]); } }
    shown = next;
    if (!ranksAsked) { ranksAsked = true; send({type: 'ranks'}); }  // the list's order, once the first markers are drawn
    mapEl.setAttribute('data-csti-total', String(N));
    mapEl.setAttribute('data-csti-shown', String(sel.length));
    renderStatus();
    renderList();
    if (!document.documentElement.hasAttribute('data-csti-ready') && placesIn) { document.documentElement.setAttribute('data-csti-ready', '1'); }
  };

  map.on('moveend', function () { draw(); writeState(); });

  // ---- Outlines: departments always, communes from zoom 10 (fetched once, when first needed) -----------------

  var communes = null, loadingCommunes = false;
  function communeOutlines() {
    if (!cfg.communesUrl) { return; }
    if (map.getZoom() >= 10) {
      if (communes) { if (!map.hasLayer(communes)) { communes.addTo(map); } return; }
      if (loadingCommunes) { return; }
      loadingCommunes = true;
      fetch(cfg.communesUrl).then(function (r) { return r.json(); }).then(function (j) {
        communes = L.geoJSON(j, {interactive: false, style: {color: '#78909c', weight: 0.8, fill: false}});
        communeOutlines();
      }).catch(function () { loadingCommunes = false; });
    } else if (communes && map.hasLayer(communes)) { map.removeLayer(communes); }
  }
  map.on('zoomend', communeOutlines);

  // ---- Status line, legend, sample note ---------------------------------------------------------------------

  var resetBtn = $('csti-reset');

  function renderStatus() {
    var n = sel.length;
    $('csti-count').textContent = plural(n, 'acteur affiché', 'acteurs affichés');
    resetBtn.hidden = !isFiltered();
    var badge = $('csti-filter-badge'), active = (state.q ? 1 : 0) + state.types.length + state.fams.length + (state.dep >= 0) + (state.theme >= 0);
    badge.textContent = active ? String(active) : '';
    badge.hidden = !active;
    var empty = $('csti-empty');
    if (n === 0 && N > 0) {
      var why = [];
      if (state.q) { why.push('le texte « ' + state.qText + ' »'); }
      if (state.types.length) { why.push('le type'); }
      if (state.fams.length) { why.push('le cercle'); }
      if (state.dep >= 0) { why.push('le département'); }
      if (state.theme >= 0) { why.push('la thématique'); }
      $('csti-empty-text').textContent = 'Aucun acteur ne correspond à ' + why.join(', ') + '. Élargissez la recherche : retirez un filtre ou réinitialisez.';
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
  }

  if (cfg.note) {
    var note = $('csti-note');
    note.textContent = cfg.note;
    note.hidden = false;
  }

  // The legend floats over the map's bottom-right corner on a desktop, left of the list: the bottom-right of the
  // region's box is the sea (in the bottom-left corner it hid the Pyrenees' actors); folded at bottom left on a phone.
  (function legend() {
    var d = el('details', 'csti-legend csti-legend-box');
    d.appendChild(el('summary', null, 'Légende'));
    D.types.forEach(function (t) {
      var row = el('div', 'csti-legend-row'), dot = el('span', 'csti-dot');
      dot.style.background = t.color;
      dot.setAttribute('data-l', t.letter);
      dot.setAttribute('aria-hidden', 'true');
      row.appendChild(dot);
      row.appendChild(document.createTextNode(' ' + t.label));
      d.appendChild(row);
    });
    d.open = !narrow.matches;
    mapEl.parentNode.insertBefore(d, mapEl.nextSibling);
  })();

  // ---- Panels (filters, list, card): side panels on a desktop, bottom sheets on a phone ---------------------

  function setPanel(id, show) {
    $(id).hidden = !show;
    var btn = document.querySelector('[aria-controls="' + id + '"]');
    if (btn) { btn.setAttribute('aria-expanded', String(show)); }
    mapEl.parentNode.classList.toggle('csti-has-' + id.slice(5), show);
  }

  function showPanel(id, show) {
    if (show && narrow.matches) {  // a phone has room for one sheet at a time
      ['csti-filters', 'csti-list', 'csti-card'].forEach(function (other) { if (other !== id) { setPanel(other, false); } });
    }
    setPanel(id, show);
    if (show && id === 'csti-list') { renderList(); }
  }

  function togglePanel(id) { showPanel(id, $(id).hidden); }

  $('csti-filters-btn').addEventListener('click', function () { togglePanel('csti-filters'); if (!$('csti-filters').hidden) { $('csti-filters-title').focus(); } });
  $('csti-list-btn').addEventListener('click', function () { togglePanel('csti-list'); });
  document.querySelectorAll('[data-close]').forEach(function (b) {
    b.addEventListener('click', function () { showPanel(b.getAttribute('data-close'), false); if (b.getAttribute('data-close') === 'csti-card') { closeCard(); } });
  });
  $('csti-skip').addEventListener('click', function (e) {
    e.preventDefault();
    showPanel('csti-list', true);
    $('csti-list-title').focus();
  });
  resetBtn.addEventListener('click', resetFilters);
  $('csti-empty-reset').addEventListener('click', resetFilters);
  $('csti-filters-reset').addEventListener('click', resetFilters);
  if (!narrow.matches) {
    showPanel('csti-list', true);
    if (!touched && !viewSet) { fitRegion(); }
  }

  // ---- The filter panel: checkboxes and selects, each option with its count ----------------------------------

  var typeBoxes = [], famBoxes = [], depSelect = $('csti-dep'), themeSelect = $('csti-theme');

  function checkbox(container, label, onChange) {
    var row = el('label', 'csti-check'), box = el('input'), text = el('span'), count = el('span', 'csti-n');
    box.type = 'checkbox';
    box.addEventListener('change', onChange);
    text.textContent = label;
    row.appendChild(box); row.appendChild(text); row.appendChild(count);
    container.appendChild(row);
    return {box: box, count: count};
  }

  function toggleIn(list, j, on) {
    var at = list.indexOf(j);
    if (on && at < 0) { list.push(j); }
    if (!on && at >= 0) { list.splice(at, 1); }
  }

  D.types.forEach(function (t, j) {
    typeBoxes.push(checkbox($('csti-types'), t.label, function (e) { toggleIn(state.types, j, e.target.checked); applyFilters(); }));
  });
  D.families.forEach(function (f, j) {
    famBoxes.push(checkbox($('csti-fams'), f.label, function (e) { toggleIn(state.fams, j, e.target.checked); applyFilters(); }));
  });
  depSelect.addEventListener('change', function () { state.dep = parseInt(depSelect.value, 10); applyFilters(); });
  themeSelect.addEventListener('change', function () { state.theme = parseInt(themeSelect.value, 10); applyFilters(); });

  function fillSelect(select, allLabel, labels, countsOf, chosen) {
    select.replaceChildren();
    var all = el('option', null, allLabel);
    all.value = '-1';
    select.appendChild(all);
    labels.forEach(function (label, j) {
      var o = el('option', null, label + ' (' + int(countsOf[j]) + ')');
      o.value = String(j);
      select.appendChild(o);
    });
    select.value = String(chosen);
  }

  function renderFilterCounts() {
    typeBoxes.forEach(function (b, j) { b.count.textContent = '(' + int(counts.t[j]) + ')'; });
    famBoxes.forEach(function (b, j) { b.count.textContent = '(' + int(counts.f[j]) + ')'; });
    fillSelect(depSelect, 'Tous les départements', D.depts.map(function (c) { return (D.deptNames[c] ? c + ' – ' + D.deptNames[c] : c); }), counts.d, state.dep);
    fillSelect(themeSelect, 'Toutes les thématiques', D.themes, counts.h, state.theme);
  }

  function syncFilterInputs() {
    typeBoxes.forEach(function (b, j) { b.box.checked = state.types.indexOf(j) >= 0; });
    famBoxes.forEach(function (b, j) { b.box.checked = state.fams.indexOf(j) >= 0; });
    depSelect.value = String(state.dep);
    themeSelect.value = String(state.theme);
  }

  // ---- Search: actor names and places (communes, postcodes) in one box -----------------------------------

  var searchBox = $('csti-search'), suggest = $('csti-suggest'), options = [], active = -1, origin = null;
  searchBox.value = state.qText;
  // A phone's box has room for a shorter hint (its label still names postcodes).
  var longHint = searchBox.placeholder;
  function searchHint() { searchBox.placeholder = narrow.matches ? 'Acteur ou commune' : longHint; }
  searchHint();
  if (narrow.addEventListener) { narrow.addEventListener('change', searchHint); }

  function placeMatches(q) {
    var out = [];
    if (!q) { return out; }
    var digits = /^\d{2,5}$/.test(q);
    for (var j = 0; j < PLACES.length && out.length < 5; j++) {
      var pl = PLACES[j];
      if (digits ? pl.cps.some(function (cp) { return cp.indexOf(q) === 0; }) : pl.key.indexOf(q) === 0) { out.push(pl); }
    }
    return out;
  }

  var suggested = {q: null, items: []};  // the engine's last answer: actors whose name holds the text
  handlers.suggest = function (msg) {
    if (msg.seq !== seq.suggest) { return; }
    suggested = {q: msg.q, items: msg.items};
    if (document.activeElement === searchBox) { renderSuggest(true); }
  };

  function closeSuggest() {
    suggest.hidden = true;
    searchBox.setAttribute('aria-expanded', 'false');
    searchBox.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function renderSuggest(answered) {
    var q = norm(searchBox.value.trim());
    if (!answered && q !== suggested.q) { send({type: 'suggest', seq: ++seq.suggest, q: q}); }
    options = [];
    placeMatches(q).forEach(function (pl) { options.push({place: pl, label: pl.name + ' (' + pl.cps.join(', ') + ')', kind: 'Commune'}); });
    if (q && suggested.q === q) {
      suggested.items.forEach(function (i) { options.push({actor: i, label: name(i), kind: communeOf(i) || D.types[C.t[i]].label}); });
    }
    if (active >= options.length) { active = -1; }
    suggest.replaceChildren();
    if (!options.length) { closeSuggest(); return; }
    options.forEach(function (o, j) {
      var li = el('li', 'csti-option');
      li.id = 'csti-opt-' + j;
      li.setAttribute('role', 'option');
      li.appendChild(el('span', 'csti-option-label', o.label));
      li.appendChild(el('span', 'csti-option-kind', o.kind));
      if (j === active) { li.setAttribute('aria-selected', 'true'); }
      li.addEventListener('mousedown', function (e) { e.preventDefault(); choose(j); });
      suggest.appendChild(li);
    });
    suggest.hidden = false;
    searchBox.setAttribute('aria-expanded', 'true');
  }

  function highlight(j) {
    active = j;
    Array.prototype.forEach.call(suggest.children, function (li, x) { li.setAttribute('aria-selected', String(x === j)); });
    if (j >= 0) { searchBox.setAttribute('aria-activedescendant', 'csti-opt-' + j); }
  }

  function setOrigin(lat, lon, label) {
    origin = {lat: lat, lon: lon, label: label};
    touched = true;
    centerOn([lat, lon], 12);
    // Honest distances: straight lines, from positions that may be only a commune's town hall.
    $('csti-origin').textContent = 'Distances à vol d\'oiseau depuis ' + label + ' (un lieu peut n\'être placé qu\'à la mairie de sa commune)';
    $('csti-origin').hidden = false;
    $('csti-sort').value = 'distance';
    renderList();
  }

  function choose(j) {
    var o = options[j];
    applyText.cancel();  // the typed text was a way to find this choice, not a filter
    closeSuggest();
    if (o.place) {
      searchBox.value = o.label;
      state.qText = ''; state.q = '';
      applyFilters();
      showPanel('csti-list', true);  // as « Autour de moi »: the actors nearest the place, first (then the place is centred above it)
      setOrigin(o.place.lat, o.place.lon, o.place.name);
    } else {
      openCard(o.actor, {pan: true, zoom: 15});
    }
  }

  var applyText = debounce(function () {
    state.qText = searchBox.value.trim();
    state.q = norm(state.qText);
    applyFilters();
  }, 150);

  searchBox.addEventListener('input', function () {
    if (ready) { renderSuggest(); applyText(); }
  });
  searchBox.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown' && options.length) { e.preventDefault(); if (suggest.hidden) { renderSuggest(); } highlight((active + 1) % options.length); }
    else if (e.key === 'ArrowUp' && options.length) { e.preventDefault(); highlight((active - 1 + options.length) % options.length); }
    else if (e.key === 'Escape') { closeSuggest(); }
    else if (e.key === 'Enter') {
      e.preventDefault();
      if (active >= 0 && !suggest.hidden) { choose(active); return; }
      applyText.cancel();
      closeSuggest();
      state.qText = searchBox.value.trim(); state.q = norm(state.qText);
      applyFilters(zoomToSelection);
    }
  });
  searchBox.addEventListener('blur', function () { setTimeout(closeSuggest, 100); });

  function zoomToSelection() {  // search results zoom to what they found
    if (!sel.length || sel.length > 5000) { return; }
    var b = L.latLngBounds([]);
    for (var j = 0; j < sel.length; j++) { b.extend([LAT[sel[j]], LON[sel[j]]]); }
    touched = true;
    if (sel.length === 1) { centerOn(b.getCenter(), 14); } else { map.fitBounds(b, Object.assign({maxZoom: 14}, uncovered(40))); }
  }

  $('csti-near').addEventListener('click', function () {
    var msg = $('csti-geo-msg');
    if (!navigator.geolocation) { msg.textContent = 'Votre navigateur ne donne pas votre position.'; msg.hidden = false; return; }
    msg.textContent = 'Recherche de votre position…';
    msg.hidden = false;
    // The position stays in this page: it is never sent to any server.
    navigator.geolocation.getCurrentPosition(function (pos) {
      msg.hidden = true;
      if (!narrow.matches || $('csti-card').hidden) { showPanel('csti-list', true); }  // first: the position is then centred above it
      setOrigin(pos.coords.latitude, pos.coords.longitude, 'votre position');
    }, function () {
      msg.textContent = 'Position indisponible : autorisez la localisation ou cherchez une commune.';
    }, {timeout: 15000, maximumAge: 600000});
  });

  // ---- The list: the actors in view, sortable, paginated, each opening the same card ----------------------

  var PAGE = 20, pageNo = 0, listEl = $('csti-items'), sortEl = $('csti-sort');
  sortEl.addEventListener('change', function () { pageNo = 0; renderList(); });
  $('csti-prev').addEventListener('click', function () { pageNo = Math.max(0, pageNo - 1); renderList(); listEl.focus(); });
  $('csti-next').addEventListener('click', function () { pageNo += 1; renderList(); listEl.focus(); });

  function inView() {
    var b = map.getBounds(), s = b.getSouth(), n = b.getNorth(), w = b.getWest(), e = b.getEast(), out = new Int32Array(sel.length), m = 0;
    for (var j = 0; j < sel.length; j++) {
      var i = sel[j];
      if (LAT[i] >= s && LAT[i] <= n && LON[i] >= w && LON[i] <= e) { out[m++] = i; }
    }
    return out.subarray(0, m);
  }

  // Name ranks come from the engine (it sorts the names once, off the page); until then, the payload's order.
  handlers.ranks = function (msg) {
    nameRank = msg.rank;
    byRank = new Int32Array(N);
    for (var i = 0; i < N; i++) { byRank[nameRank[i]] = i; }
    renderList();
  };

  var communeRank = null;

  function byCommuneKeys(items) {  // commune (French order), then name: one number per actor, sorted natively
    if (!communeRank) {
      var coll = new Intl.Collator('fr'), order = [];
      for (var c = 0; c < C.communes.length; c++) { order.push(c); }
      order.sort(function (x, y) { return coll.compare(C.communes.get(x), C.communes.get(y)); });
      communeRank = new Int32Array(order.length);
      order.forEach(function (c, r) { communeRank[c] = r; });
    }
    var keys = new Float64Array(items.length);
    for (var j = 0; j < items.length; j++) { keys[j] = communeRank[C.c[items[j]]] * N + (nameRank ? nameRank[items[j]] : items[j]); }
    return keys.sort();
  }

  /** The actors of page pageNo of the list, in the chosen order. */
  function pageOf(items, by) {
    var from = pageNo * PAGE, to = Math.min(items.length, from + PAGE), out = [], j;
    if (by === 'distance' && origin) {
      var dist = new Float64Array(items.length), idx = new Int32Array(items.length);
      for (j = 0; j < items.length; j++) { dist[j] = distanceOf(items[j]); idx[j] = j; }
      idx.sort(function (x, y) { return dist[x] - dist[y]; });
      for (j = from; j < to; j++) { out.push(items[idx[j]]); }
    } else if (by === 'commune') {
      var keys = byCommuneKeys(items);
      for (j = from; j < to; j++) { var r = keys[j] % N; out.push(byRank ? byRank[r] : r); }
    } else {
      var ranks = new Int32Array(items.length);
      for (j = 0; j < items.length; j++) { ranks[j] = nameRank ? nameRank[items[j]] : items[j]; }
      ranks.sort();
      for (j = from; j < to; j++) { out.push(byRank ? byRank[ranks[j]] : ranks[j]); }
    }
    return out;
  }

  function distanceOf(i) { return origin ? metresBetween(origin.lat, origin.lon, LAT[i], LON[i]) : 0; }

  function renderList() {
    if (!ready || $('csti-list').hidden) { return; }
    var items = inView();
    var pages = Math.max(1, Math.ceil(items.length / PAGE));
    pageNo = Math.min(pageNo, pages - 1);
    $('csti-list-count').textContent = plural(items.length, 'acteur dans la vue', 'acteurs dans la vue');
    listEl.replaceChildren();
    pageOf(items, sortEl.value).forEach(function (i) {
      var li = el('li'), b = el('button', 'csti-item');
      b.type = 'button';
      var cm = communeOf(i);
      b.appendChild(el('span', 'csti-item-name', name(i)));
      b.appendChild(el('span', 'csti-item-meta', D.types[C.t[i]].label + (cm ? ' · ' + cm : '')));
      if (origin) { b.appendChild(el('span', 'csti-item-dist', distanceLabel(distanceOf(i)))); }
      b.addEventListener('click', function () { openCard(i, {pan: true, focus: true}); });
      li.appendChild(b);
      listEl.appendChild(li);
    });
    $('csti-page').textContent = 'Page ' + (pageNo + 1) + ' sur ' + pages;
    $('csti-prev').disabled = pageNo === 0;
    $('csti-next').disabled = pageNo >= pages - 1;
  }

  // ---- CSV of the current selection, built here from the page's data (public fields only) -----------------

  var CSV_COLUMNS = ['id', 'nom', 'type_structure', 'famille', 'commune_lieu', 'code_departement', 'thematiques', 'site_web', 'presentation_resume', 'longitude', 'latitude'];

  function csvField(value) {
    var v = csvCell(value === null || value === undefined ? '' : String(value));
    return /[;"\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }

  function decimal(x) { return String(+x.toFixed(6)).replace('.', ','); }

  var CSV_SLICE = 5000;  // rows written per task: the page stays responsive while a large selection is written

  $('csti-csv').addEventListener('click', function () {
    if (!ready) { return; }
    var rows = [CSV_COLUMNS.map(csvField).join(';')], ranks = new Int32Array(sel.length), j;
    for (j = 0; j < sel.length; j++) { ranks[j] = nameRank ? nameRank[sel[j]] : sel[j]; }
    ranks.sort();  // in name order
    var button = this, at = 0;
    button.disabled = true;
    (function slice() {
      for (var end = Math.min(ranks.length, at + CSV_SLICE); at < end; at++) {
        var i = byRank ? byRank[ranks[at]] : ranks[at];
        rows.push([actorId(i), name(i), D.types[C.t[i]].key, D.families[C.f[i]].key, communeOf(i), D.depts[C.d[i]],
          themesOf(i).map(function (x) { return D.themes[x]; }).join(';'), C.u.get(i), C.s.get(i), decimal(LON[i]), decimal(LAT[i])].map(csvField).join(';'));
      }
      if (at < ranks.length) { setTimeout(slice, 0); return; }
      button.disabled = false;
      download(rows);
    })();
  });

  function download(rows) {
    var blob = new Blob(['\ufeff' + rows.join('\r\n') + '\r\n'], {type: 'text/csv;charset=utf-8'});
    var link = el('a');
    link.href = URL.createObjectURL(blob);
    link.download = cfg.csvName;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  // ---- The card of an actor, with its own link ---------------------------------------------------------------

  var current = -1, cardEl = $('csti-card'), cardBody = $('csti-card-body'), returnFocus = null;

  function button(label, cls, onClick) {
    var b = el('button', cls, label);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function link(label, href, cls) {
    var a = el('a', cls, label);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }

  // « Musée, centre de sciences · Acteurs du cercle 1 » ; the family is left out when it only repeats the type in the
  // plural (« Fab Lab · Fab Labs », « Site de tourisme scientifique · Sites de tourisme scientifique »).
  function kindLabel(i) {
    var type = D.types[C.t[i]].label, family = D.families[C.f[i]].label;
    var singular = function (text) { return text.toLowerCase().split(' ').map(function (w) { return w.replace(/s$/, ''); }).join(' '); };
    return singular(type) === singular(family) ? type : type + ' · ' + family;
  }

  function openCard(i, opts) {
    if (!ready) { return; }
    if (current >= 0 && markerOf[current] && markerOf[current].getElement()) { markerOf[current].getElement().classList.remove('csti-current'); }
    current = i;
    returnFocus = document.activeElement;
    cardBody.replaceChildren();
    var h = el('h2', 'csti-name', name(i)), cm = communeOf(i), summary = C.s.get(i);
    h.id = 'csti-card-title';
    h.tabIndex = -1;
    cardBody.appendChild(h);
    cardBody.appendChild(el('div', 'csti-type', kindLabel(i)));
    if (cm) { cardBody.appendChild(el('div', 'csti-commune', cm + (origin ? ' – ' + distanceLabel(distanceOf(i)) : ''))); }
    if (summary) { cardBody.appendChild(el('p', 'csti-summary', summary)); }
    var site = safeUrl(C.u.get(i));
    if (site) { cardBody.appendChild(link('Site web', site, 'csti-link')); }
    var actions = el('div', 'csti-actions'), shared = el('input', 'csti-share-link');
    shared.readOnly = true;
    shared.hidden = true;
    shared.setAttribute('aria-label', 'Lien vers cette fiche');
    var said = el('span', 'csti-said');
    said.setAttribute('role', 'status');
    actions.appendChild(button('Partager', 'csti-share', function () {
      var href = actorLink(i);
      shared.value = href;
      shared.hidden = false;
      var done = function () { said.textContent = 'Lien copié'; };
      var manual = function () { shared.select(); said.textContent = 'Copiez le lien ci-dessous'; };
      if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(href).then(done, manual); } else { manual(); }
    }));
    actions.appendChild(link('Itinéraire', 'https://www.openstreetmap.org/directions?to=' + LAT[i].toFixed(5) + ',' + LON[i].toFixed(5), 'csti-route'));
    if (cfg.reportEmail) {
      var report = el('a', 'csti-report', 'Signaler une erreur');
      report.href = 'mailto:' + encodeURI(cfg.reportEmail) + '?subject=' + encodeURIComponent('Erreur sur la fiche ' + actorId(i) + ' (' + name(i) + ')');
      actions.appendChild(report);
    }
    cardBody.appendChild(actions);
    cardBody.appendChild(said);
    cardBody.appendChild(shared);
    cardEl.setAttribute('data-acteur', actorId(i));
    showPanel('csti-card', true);
    if (opts.pan) {
      touched = true;
      centerOn([LAT[i], LON[i]], Math.max(map.getZoom(), opts.zoom || 13));
    } else {
      keepInSight([LAT[i], LON[i]]);
    }
    if (markerOf[i] && markerOf[i].getElement()) { markerOf[i].getElement().classList.add('csti-current'); }
    if (opts.focus) { h.focus(); }
    writeState();
  }

  function closeCard() {
    if (current >= 0 && markerOf[current] && markerOf[current].getElement()) { markerOf[current].getElement().classList.remove('csti-current'); }
    current = -1;
    cardEl.removeAttribute('data-acteur');
    showPanel('csti-card', false);
    writeState();
    if (returnFocus && document.body.contains(returnFocus)) { returnFocus.focus({preventScroll: true}); }
  }

  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !cardEl.hidden && document.activeElement !== searchBox) { closeCard(); }
  });

  // ---- Start: the engine decodes and indexes; the page cuts its texts from the same bytes, inflates the places ----

  var placesIn = false;
  var TOO_OLD = 'Acteurs non affichés : navigateur trop ancien (il faut Chrome 80, Firefox 113, Safari 16.4 ou plus récent).';

  handlers.data = function (msg) {
    var TextColumn = window.cstiEngine.TextColumn;
    C = msg.cols;
    ['n', 'i', 's', 'u', 'communes'].forEach(function (key) { C[key] = new TextColumn(C[key].text, C[key].offsets); });
    LAT = C.lat;
    LON = C.lon;
    ready = true;
    sentBeforeData = null;
    var wanted = initial.get('acteur');
    if (wanted) {
      var i = findActor(wanted);
      if (i >= 0) { viewSet = true; openCard(i, {pan: true, zoom: 15}); }
    }
    draw();
  };
  handlers.error = function () { $('csti-count').textContent = TOO_OLD; };

  function findActor(id) {  // the actor of a link: its id, or the mark and its position for an actor without one
    if (id.indexOf(D.idMark) === 0 && /^\d+$/.test(id.slice(D.idMark.length))) {
      var j = parseInt(id.slice(D.idMark.length), 10) - 1;
      if (j >= 0 && j < N && !C.i.get(j) && id.slice(D.idMark.length) === String(j + 1)) { return j; }
    }
    var ids = C.i, off = ids.offsets;
    for (var i = 0; i < N; i++) {
      if (off[i + 1] - off[i] === id.length && ids.get(i) === id) { return i; }
    }
    return -1;
  }

  $('csti-count').textContent = 'Chargement des acteurs…';
  send({type: 'init', z: D.z, meta: {scale: D.scale, types: D.types, families: D.families, depts: D.depts, themes: D.themes, combos: D.combos,
                                     zoom: map.getZoom()}});
  applyFilters();
  syncFilterInputs();
  window.cstiEngine.inflate(D.g).then(function (buffer) {  // the places of the search box and the outlines
    var g = window.cstiEngine.decode(buffer), k = 1 / D.scale;
    for (var j = 0; j < g.pn.length; j++) {
      var pname = g.pn.get(j), cps = g.pc.get(j);
      PLACES.push({name: pname, cps: cps ? cps.split(' ') : [], lat: g.plat[j] * k, lon: g.plon[j] * k, key: norm(pname)});
    }
    L.geoJSON(JSON.parse(g.outlines.get(0)), {interactive: false, style: cfg.outline}).addTo(map);
    placesIn = true;
    if (gen && ready) { document.documentElement.setAttribute('data-csti-ready', '1'); }
    communeOutlines();
  }, function () { $('csti-count').textContent = TOO_OLD; });

  window.cstiMap = {
    map: map, refresh: applyFilters, state: state, openCard: function (i) { openCard(i, {}); },
    drawn: drawn, markerOf: function (i) { return markerOf[i]; }, selection: function () { return Array.from(sel); },
    name: function (i) { return name(i); }, data: D
  };
})();
