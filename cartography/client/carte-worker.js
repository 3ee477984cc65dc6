/* The data engine of the public map: decodes the page's payload, filters, searches and clusters.
 *
 * Runs as a Web Worker (started by carte.js from this same file, same origin: the static site's
 * Content-Security-Policy allows it through script-src 'self'), so that decoding, indexing and
 * filtering 200,000 actors never blocks the page. Loaded as a plain script instead (the page's
 * decoder, or the fallback where a worker cannot start, e.g. a page opened from the disk), it only
 * defines window.cstiEngine.
 *
 * The payload (cartography/actors_map.py, binary_payload): a 4-byte length, a JSON header
 * [[key, kind, count, bytes], ...], then the sections: 'zdelta' (zigzag varints of differences),
 * 'varint' (unsigned varints), 'text' (UTF-16 lengths as varints, then the UTF-8 of all the strings).
 */
(function (scope) {
  'use strict';

  // ---- Decoding ---------------------------------------------------------------------------------------

  function readVarints(bytes, pos, count, out) {  // values below 2**31 (coordinates and indices)
    for (var j = 0; j < count; j++) {
      var b = bytes[pos++];
      if (b < 128) { out[j] = b; continue; }
      var v = b & 127, shift = 7;
      do { b = bytes[pos++]; v |= (b & 127) << shift; shift += 7; } while (b & 128);
      out[j] = v;
    }
    return pos;
  }

  /** A text column: one string and the offsets of each item in it (no string per item until asked). */
  function TextColumn(text, offsets) { this.text = text; this.offsets = offsets; this.length = offsets.length - 1; }
  TextColumn.prototype.get = function (j) { return this.text.substring(this.offsets[j], this.offsets[j + 1]); };

  /** The sections of a decompressed payload, by key: Int32Array or TextColumn. */
  function decode(buffer) {
    var bytes = new Uint8Array(buffer), view = new DataView(buffer);
    var size = view.getUint32(0, true), utf8 = new TextDecoder('utf-8');
    var header = JSON.parse(utf8.decode(bytes.subarray(4, 4 + size))), pos = 4 + size, out = {};
    header.forEach(function (h) {
      var key = h[0], kind = h[1], count = h[2], end = pos + h[3];
      if (kind === 'text') {
        var lengths = new Int32Array(count), offsets = new Int32Array(count + 1);
        var at = readVarints(bytes, pos, count, lengths);
        for (var j = 0; j < count; j++) { offsets[j + 1] = offsets[j] + lengths[j]; }
        out[key] = new TextColumn(utf8.decode(bytes.subarray(at, end)), offsets);
      } else {
        var values = new Int32Array(count);
        readVarints(bytes, pos, count, values);
        if (kind === 'zdelta') {
          for (var k = 0, acc = 0; k < count; k++) { var z = values[k]; acc += (z >>> 1) ^ -(z & 1); values[k] = acc; }
        }
        out[key] = values;
      }
      pos = end;
    });
    // Type, family and themes travel as one code into a table of the distinct triples: expanded here.
    if (out.k) { ['t', 'f', 'h'].forEach(function (key) {
      var table = out['k' + key], col = new Int32Array(out.k.length);
      for (var i = 0; i < col.length; i++) { col[i] = table[out.k[i]]; }
      out[key] = col;
    }); }
    return out;
  }

  function inflate(b64) {  // gzipped bytes in base 64 -> ArrayBuffer (native DecompressionStream, no library)
    return Promise.resolve().then(function () {
      var bin = atob(b64), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
      return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
    });
  }

  // The one normalisation of search (the mirror of geodata.selection.normalize): lower case, no accents.
  function norm(s) { return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase(); }

  // ---- The engine: filters with counts, search, clusters -----------------------------------------------

  var FINE_ZOOM = 16;  // clusters down to this zoom; beyond it every actor is drawn
  var COARSE_DEPTH = 3;

  function Engine(cols, meta) {
    this.cols = cols;
    this.meta = meta;
    var n = cols.lat.length, k = 1 / meta.scale;
    this.n = n;
    this.lat = new Float64Array(n);
    this.lon = new Float64Array(n);
    for (var i = 0; i < n; i++) { this.lat[i] = cols.lat[i] * k; this.lon[i] = cols.lon[i] * k; }
    cols.lat = cols.lon = null;
    this.hay = null;       // normalised names, joined by \u0000, and where each starts
    this.hayStart = null;
    this.communeHay = null;
    this.coarseZoom = Math.max(0, Math.min(FINE_ZOOM, Math.floor(meta.zoom || 0)));
    // Clusters grow level after level (a cluster of clusters reaches further): the coarse index starts a few
    // levels deeper than it serves, so that its clusters look like the full index's, not a crowd of small ones.
    this.coarseFrom = Math.min(FINE_ZOOM, this.coarseZoom + COARSE_DEPTH);
    this.coarse = this.fine = this.sel = null;
    this.gen = 0;
  }

  /** What the page needs, cut here (decoding UTF-8 costs more than copying the strings to the page). */
  Engine.prototype.pageData = function () {
    var c = this.cols, out = {lat: this.lat, lon: this.lon};
    ['t', 'f', 'd', 'c', 'h'].forEach(function (key) { out[key] = c[key]; });
    ['n', 'i', 's', 'u', 'communes'].forEach(function (key) { out[key] = {text: c[key].text, offsets: c[key].offsets}; });
    c.s = c.u = c.i = null;  // summaries, links and ids are the page's business from now on
    return out;
  };

  Engine.prototype.ensureHay = function () {
    if (this.hay) { return; }
    var names = this.cols.n, parts = new Array(this.n), start = new Int32Array(this.n + 1), at = 0;
    for (var i = 0; i < this.n; i++) {
      var s = names.get(i);
      parts[i] = /[^\x00-\x7f]/.test(s) ? norm(s) : s.toLowerCase();
      start[i] = at;
      at += parts[i].length + 1;
    }
    start[this.n] = at;
    this.hay = parts.join('\u0000') + '\u0000';
    this.hayStart = start;
    this.hayParts = parts;  // kept until the ranks are computed
    var communes = this.cols.communes;
    this.communeHay = [];
    for (var c = 0; c < communes.length; c++) { this.communeHay.push(norm(communes.get(c))); }
  };

  /** The actors whose normalised name contains q, as a Uint8Array mask (one indexOf pass over all names). */
  Engine.prototype.nameMatches = function (q, mask) {
    var hay = this.hay, start = this.hayStart, from = 0, lo = 0;
    while (true) {
      var at = hay.indexOf(q, from);
      if (at < 0) { break; }
      var hi = this.n;  // the actor whose name holds position at: the last start <= at
      while (lo < hi - 1) { var mid = (lo + hi) >> 1; if (start[mid] <= at) { lo = mid; } else { hi = mid; } }
      mask[lo] = 1;
      if (lo + 1 >= this.n) { break; }
      from = start[lo + 1];
      lo = lo + 1;
    }
  };

  /** Name ranks (French alphabetical order, accents and case ignored, then the exact text). */
  Engine.prototype.ranks = function () {
    this.ensureHay();
    var parts = this.hayParts, names = this.cols.n, order = new Array(this.n);
    for (var i = 0; i < this.n; i++) { order[i] = i; }
    order.sort(function (x, y) {
      var a = parts[x], b = parts[y];
      if (a !== b) { return a < b ? -1 : 1; }
      var ra = names.get(x), rb = names.get(y);
      return ra < rb ? -1 : ra > rb ? 1 : x - y;
    });
    var rank = new Int32Array(this.n);
    for (var r = 0; r < this.n; r++) { rank[order[r]] = r; }
    this.hayParts = null;
    this.cols.n = null;  // searching reads the normalised names only: the names themselves are the page's
    return rank;
  };

  /** The selection and, per option, the count it would have with every other filter applied. */
  Engine.prototype.filter = function (st) {
    var c = this.cols, n = this.n, meta = this.meta;
    var text = null, communeOk = null;
    if (st.q) {
      this.ensureHay();
      text = new Uint8Array(n);
      this.nameMatches(st.q, text);
      communeOk = new Uint8Array(this.communeHay.length);
      for (var x = 0; x < this.communeHay.length; x++) { communeOk[x] = this.communeHay[x].indexOf(st.q) >= 0 ? 1 : 0; }
    }
    var types = st.types.length ? new Uint8Array(meta.types.length) : null;
    var fams = st.fams.length ? new Uint8Array(meta.families.length) : null;
    st.types.forEach(function (j) { types[j] = 1; });
    st.fams.forEach(function (j) { fams[j] = 1; });
    var combos = meta.combos, hasTheme = null;
    if (st.theme >= 0) { hasTheme = new Uint8Array(combos.length); combos.forEach(function (cb, j) { hasTheme[j] = cb.indexOf(st.theme) >= 0 ? 1 : 0; }); }
    var sel = new Int32Array(n), m = 0;
    var ct = new Int32Array(meta.types.length), cf = new Int32Array(meta.families.length), cd = new Int32Array(meta.depts.length);
    var comboCount = new Int32Array(combos.length);
    for (var i = 0; i < n; i++) {
      var f = 0;
      if (text && !text[i] && !communeOk[c.c[i]]) { f |= 1; }
      if (types && !types[c.t[i]]) { f |= 2; }
      if (fams && !fams[c.f[i]]) { f |= 4; }
      if (st.dep >= 0 && c.d[i] !== st.dep) { f |= 8; }
      if (hasTheme && !hasTheme[c.h[i]]) { f |= 16; }
      if (f === 0) { sel[m++] = i; }
      if ((f & ~2) === 0) { ct[c.t[i]]++; }
      if ((f & ~4) === 0) { cf[c.f[i]]++; }
      if ((f & ~8) === 0) { cd[c.d[i]]++; }
      if ((f & ~16) === 0) { comboCount[c.h[i]]++; }
    }
    var ch = new Int32Array(meta.themes.length);
    combos.forEach(function (cb, j) { for (var t = 0; t < cb.length; t++) { ch[cb[t]] += comboCount[j]; } });
    sel = sel.slice(0, m);
    this.load(sel);
    return {sel: sel, counts: {t: ct, f: cf, d: cd, h: ch}};
  };

  function clusterIndex(lat, lon, sel, maxZoom) {
    // supercluster reads points[i].geometry.coordinates once while indexing and returns points[i] for a single
    // actor: a proxy makes those objects when asked, so no object per actor is kept.
    var points = new Proxy([], {get: function (target, key) {
      if (key === 'length') { return sel.length; }
      var j = +key;
      if (j >= 0 && j < sel.length) { return {geometry: {coordinates: [lon[sel[j]], lat[sel[j]]]}, id: sel[j]}; }
      return target[key];
    }});
    return new Supercluster({radius: 60, maxZoom: maxZoom, minPoints: 2}).load(points);
  }

  /** The clustering of the selection: a coarse index up to the first view's zoom, quick to build, serves that
   * zoom and the ones below; the full index (to zoom 16) is built after the first answers, or when first needed,
   * and then serves every zoom (the coarse one is let go: at 200,000 actors it holds tens of megabytes). */
  Engine.prototype.load = function (sel) {
    this.sel = sel;
    this.coarse = clusterIndex(this.lat, this.lon, sel, this.coarseFrom);
    this.fine = this.coarseFrom >= FINE_ZOOM ? this.coarse : null;
    this.gen += 1;
  };

  Engine.prototype.indexFor = function (zoom) {
    if (!this.fine && zoom > this.coarseZoom) { this.buildFine(); }
    return this.fine || this.coarse;
  };

  Engine.prototype.buildFine = function () {
    // Let go of the coarse index first: nothing is answered while the full one is built (one thread), and
    // the collector can take back its memory for the new index instead of holding both at once.
    this.coarse = null;
    this.fine = clusterIndex(this.lat, this.lon, this.sel, FINE_ZOOM);
  };

  /** Clusters as [lon, lat, count, id] and single actors of a view. */
  Engine.prototype.clusters = function (bbox, zoom) {
    var index = this.indexFor(zoom), items = index.getClusters(bbox, zoom), clusters = [], points = [];
    for (var j = 0; j < items.length; j++) {
      var it = items[j];
      if (it.properties && it.properties.cluster) {
        clusters.push(it.geometry.coordinates[0], it.geometry.coordinates[1], it.properties.point_count, it.properties.cluster_id);
      } else { points.push(it.id); }
    }
    // Cluster ids are the index's own: the page keys its markers, and asks an expansion, with the index named.
    return {gen: this.gen, index: index === this.fine ? 'f' : 'c', clusters: new Float64Array(clusters), points: new Int32Array(points)};
  };

  /** The first actors whose name contains q (search suggestions). */
  Engine.prototype.suggest = function (q, limit) {
    this.ensureHay();
    var hay = this.hay, start = this.hayStart, out = [], from = 0, lo = 0;
    while (out.length < limit) {
      var at = hay.indexOf(q, from);
      if (at < 0) { break; }
      var hi = this.n;
      while (lo < hi - 1) { var mid = (lo + hi) >> 1; if (start[mid] <= at) { lo = mid; } else { hi = mid; } }
      out.push(lo);
      if (lo + 1 >= this.n) { break; }
      from = start[lo + 1];
      lo = lo + 1;
    }
    return out;
  };

  // ---- Messages: the same protocol in a worker and in the page's fallback ---------------------------------

  /** Handles one message; reply(message, transfer) answers it. */
  function handler(reply) {
    var engine = null, queue = [];
    function run(msg) {
      var d = msg;
      if (d.type === 'filter') {
        var r = engine.filter(d.state);
        var copy = r.sel.slice();  // the index keeps reading its own selection
        reply({type: 'filtered', seq: d.seq, gen: engine.gen, sel: copy, counts: r.counts}, [copy.buffer]);
        if (d.view) { d = d.view; d.type = 'clusters'; }  // and the clusters of the page's view, without a round trip
      }
      if (d.type === 'clusters') {
        var c = engine.clusters(d.bbox, d.zoom);
        reply({type: 'clusters', seq: d.seq, gen: c.gen, index: c.index, zoom: d.zoom, clusters: c.clusters, points: c.points}, [c.clusters.buffer, c.points.buffer]);
      } else if (d.type === 'expand') {
        var z = -1;
        var index = d.index === 'f' ? engine.fine : engine.coarse;
        if (d.gen === engine.gen && index) { z = index.getClusterExpansionZoom(d.id); }
        reply({type: 'expand', seq: d.seq, zoom: z});
      } else if (d.type === 'suggest') {
        reply({type: 'suggest', seq: d.seq, q: d.q, items: d.q ? engine.suggest(d.q, d.limit || 5) : []});
      } else if (d.type === 'ranks') {
        var rank = engine.ranks();
        reply({type: 'ranks', rank: rank}, [rank.buffer]);
      }
    }
    function later() {  // after an answer, once the queue is empty, the full index, so that zooming in finds it ready
      setTimeout(function () { if (engine && engine.sel && !engine.fine) { engine.buildFine(); } }, 0);
    }
    return function (msg) {
      if (msg.type === 'init') {
        inflate(msg.z).then(function (buffer) {
          engine = new Engine(decode(buffer), msg.meta);
          reply({type: 'data', cols: engine.pageData()});
          // The page asks for its first view's clusters on receiving the data: the full index waits for that
          // answer (built now, it would hold the first markers back by its whole build time).
          var asked = queue.length;
          queue.forEach(run);
          queue = null;
          if (asked) { later(); }
        }, function (err) { reply({type: 'error', message: String(err)}); });
      } else if (queue) { queue.push(msg); } else { run(msg); later(); }
    };
  }

  var api = {decode: decode, inflate: inflate, norm: norm, handler: handler, TextColumn: TextColumn};

  if (typeof window === 'undefined' && typeof importScripts === 'function') {  // a worker: ?supercluster=URL of the index
    importScripts(new URLSearchParams(scope.location.search).get('supercluster'));
    var handle = handler(function (message, transfer) { scope.postMessage(message, transfer || []); });
    scope.onmessage = function (e) { handle(e.data); };
  } else {
    scope.cstiEngine = api;
    // Loaded by the map page (in its head, before the data): the worker starts now, while the page is parsed.
    var me = document.currentScript;
    if (me && me.id === 'csti-engine') {
      api.superclusterUrl = new URL(me.getAttribute('data-supercluster'), document.baseURI).href;
      try {
        api.worker = new Worker(me.src + (me.src.indexOf('?') < 0 ? '?' : '&') + 'supercluster=' + encodeURIComponent(api.superclusterUrl));
        api.worker.onerror = function () { api.workerFailed = true; };
      } catch (err) { api.workerFailed = true; }
    }
  }
})(this);
