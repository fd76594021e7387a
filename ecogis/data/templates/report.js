/* ecogis reviewer's report: the site table, the overview map and the site maps.
 * Data come only from the JSON data blocks of the page and are put into the page as text
 * (textContent, DOM nodes), never as HTML. */
(function () {
  'use strict';

  var el = ecogisDom.el, fixed = ecogisDom.fixed, fmt = ecogisDom.fmt, tpl = ecogisDom.tpl;
  function readJSON(node) { return JSON.parse(node.textContent); }

  // ------------------------------------------------------------------ the site table
  function measure(T, mk, q) {
    var L = T.labels;
    if (mk === 1) { return tpl(L.overlap, {ha: fmt(q[0], 4), mu: fmt(q[1], 2), pct: fmt(q[2], 2)}); }
    if (mk === 2) { return tpl(L.overlap_nopct, {ha: fmt(q[0], 4), mu: fmt(q[1], 2)}); }
    if (mk === 3) { return tpl(L.crossing, {len: fmt(q[0], 1), n: String(q[1])}); }
    if (mk === 4) { return tpl(L.distance, {d: fmt(q[0], 0)}); }
    if (mk === 5) { return L.inside_point; }
    return '';
  }
  function conclusion(T, i) {
    var v = T.verdicts[T.v[i]];
    if (T.p[i]) { v += T.provWord; }
    var line = v + T.colon + T.pieces[T.h[i]] + measure(T, T.mk[i], T.q[i]);
    if (T.t[i] >= 0) { line += T.pieces[T.t[i]]; }
    return line;
  }
  function badge(T, vi) {
    var b = el('span', 'badge', T.verdicts[vi]);
    b.style.background = T.colours[vi];
    return b;
  }
  window.ecogisConclusion = conclusion;
  /* The link of site i: a page of its own (small reports), or the site viewer of a large batch. */
  function link(T, i) {
    var l = T.link[i];
    if (typeof l === 'string') { return l; }
    return l && T.viewer ? T.viewer + encodeURIComponent(T.id[i]) : '';
  }

  function siteTable(T, root) {
    var n = T.id.length, per = 50, page = 0, rows = [];
    var input = root.querySelector('input'), select = root.querySelector('select');
    var tbody = root.querySelector('tbody'), info = root.querySelector('.pager span');
    var prev = root.querySelector('button.prev'), next = root.querySelector('button.next');
    T.verdicts.forEach(function (v, i) {
      if (T.v.indexOf(i) >= 0) { var o = el('option', null, v); o.value = String(i); select.appendChild(o); }
    });
    var hay = new Array(n);
    for (var i = 0; i < n; i++) { hay[i] = (T.id[i] + ' ' + (T.name[i] || '')).toLowerCase(); }
    function filter() {
      var q = input.value.trim().toLowerCase(), vs = select.value;
      rows = [];
      for (var i = 0; i < n; i++) {
        if (vs !== '' && String(T.v[i]) !== vs) { continue; }
        if (q && hay[i].indexOf(q) < 0) { continue; }
        rows.push(i);
      }
      page = 0;
      draw();
    }
    function draw() {
      var pages = Math.max(1, Math.ceil(rows.length / per));
      if (page >= pages) { page = pages - 1; }
      var frag = document.createDocumentFragment();
      rows.slice(page * per, page * per + per).forEach(function (i) {
        var tr = el('tr');
        var td = el('td'); td.setAttribute('data-l', T.cols[0]);
        var href = link(T, i);
        if (href) { var a = el('a', null, T.id[i]); a.href = href; td.appendChild(a); }
        else { td.textContent = T.id[i]; }
        tr.appendChild(td);
        td = el('td', null, T.name[i] || ''); td.setAttribute('data-l', T.cols[1]); tr.appendChild(td);
        td = el('td'); td.setAttribute('data-l', T.cols[2]); td.appendChild(badge(T, T.v[i]));
        if (T.p[i]) { td.appendChild(document.createTextNode(' ')); td.appendChild(el('span', 'badge prov', T.prov)); }
        tr.appendChild(td);
        td = el('td', 'line', conclusion(T, i)); td.setAttribute('data-l', T.cols[3]); tr.appendChild(td);
        td = el('td', 'num', T.ha[i] !== null ? fmt(T.ha[i], 4) + ' ' + T.labels.hectare
                                               : T.len[i] !== null ? fmt(T.len[i], 0) + ' ' + T.labels.metre : '—');
        td.setAttribute('data-l', T.cols[4]); tr.appendChild(td);
        td = el('td', 'num', (Array.isArray(T.c[i]) ? T.c[i] : T.c[i].split(',')).join(' / ')); td.setAttribute('data-l', T.cols[5]); tr.appendChild(td);
        frag.appendChild(tr);
      });
      tbody.replaceChildren(frag);
      info.textContent = tpl(T.labels.page, {p: page + 1, n: pages, k: rows.length});
      prev.disabled = page <= 0;
      next.disabled = page >= pages - 1;
    }
    input.addEventListener('input', filter);
    select.addEventListener('change', filter);
    prev.addEventListener('click', function () { page--; draw(); });
    next.addEventListener('click', function () { page++; draw(); });
    filter();
  }

  // ------------------------------------------------------------------ maps
  var SITE = {color: '#3f007d', weight: 3, fill: true, fillColor: '#6a3d9a', fillOpacity: 0.08};
  var ADMIN = {color: '#525252', weight: 1.5, dashArray: '8 4 2 4', fill: false, interactive: false};
  var SEV = {prohibited: '#d7191c', restricted: '#f28c28', review: '#ffbf00', notice: '#2c7bb6'};

  function geo(data, opts) {  // points as circles: the default marker image is not part of the page
    opts = opts || {};
    if (!opts.pointToLayer) { opts.pointToLayer = function (f, ll) { return L.circleMarker(ll, {radius: 4}); }; }
    return L.geoJSON(data, opts);
  }

  function tip(layer, text) {
    if (text) { layer.bindTooltip(el('span', 'ecogis-tip', text), {sticky: true}); }
  }

  /* Points drawn on one canvas: thousands of sites stay fast; a click finds the nearest point. */
  var PointLayer = L.Layer.extend({
    initialize: function (xs, ys, colours, onClick) {
      this._x = xs; this._y = ys; this._c = colours; this._onClick = onClick;
    },
    onAdd: function (map) {
      this._map = map;
      this._canvas = L.DomUtil.create('canvas', 'ecogis-points');
      this._canvas.style.position = 'absolute';
      this._canvas.style.pointerEvents = 'none';
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on('moveend zoomend resize viewreset', this._draw, this);
      map.on('zoomstart', this._hide, this);
      map.on('click', this._click, this);
      this._draw();
    },
    onRemove: function (map) {
      L.DomUtil.remove(this._canvas);
      map.off('moveend zoomend resize viewreset', this._draw, this);
      map.off('zoomstart', this._hide, this);
      map.off('click', this._click, this);
    },
    _hide: function () { this._canvas.style.visibility = 'hidden'; },
    _draw: function () {
      var map = this._map, size = map.getSize(), dpr = window.devicePixelRatio || 1, c = this._canvas;
      var n = this._x.length, k;
      if (!this._p0) {  // projected once at zoom 0; every redraw only scales and shifts
        this._p0 = new Float64Array(2 * n);
        for (k = 0; k < n; k++) {
          var q = map.project([this._y[k], this._x[k]], 0);
          this._p0[2 * k] = q.x; this._p0[2 * k + 1] = q.y;
        }
      }
      var tl = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(c, tl);
      c.width = size.x * dpr; c.height = size.y * dpr;
      c.style.width = size.x + 'px'; c.style.height = size.y + 'px';
      c.style.visibility = 'visible';
      var ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      var r = map.getZoom() >= 12 ? 6 : 4.5;
      var f = map.options.crs.scale(map.getZoom()) / map.options.crs.scale(0);
      var origin = map.getPixelOrigin(), pane = map.containerPointToLayerPoint([0, 0]);
      var ox = origin.x + pane.x, oy = origin.y + pane.y;
      this._px = new Float32Array(2 * n);
      ctx.lineWidth = 1; ctx.strokeStyle = '#fff';
      for (k = n - 1; k >= 0; k--) {  // the worst sites (first) are drawn last, on top
        var x = this._p0[2 * k] * f - ox, y = this._p0[2 * k + 1] * f - oy;
        this._px[2 * k] = x; this._px[2 * k + 1] = y;
        if (x < -r || y < -r || x > size.x + r || y > size.y + r) { continue; }
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 6.2832);
        ctx.fillStyle = this._c[k];
        ctx.fill();
        ctx.stroke();
      }
    },
    _click: function (e) {
      if (!this._px) { return; }
      var best = -1, bd = 100, x = e.containerPoint.x, y = e.containerPoint.y;
      for (var k = 0; k < this._x.length; k++) {
        var dx = this._px[2 * k] - x, dy = this._px[2 * k + 1] - y, d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = k; }
      }
      if (best >= 0) { this._onClick(best, L.latLng(this._y[best], this._x[best])); }
    }
  });

  function overview(T, O, div) {
    var map = L.map(div, {preferCanvas: false, zoomSnap: 0.25, attributionControl: false});
    L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
    O.admin.forEach(function (g) { geo(g, {style: ADMIN, interactive: false}).addTo(map); });
    O.outlines.forEach(function (g, i) {
      if (!g) { return; }
      var lyr = geo(g, {style: Object.assign({}, SITE, {weight: 2, color: T.colours[T.v[i]]})});
      tip(lyr, T.id[i] + ' ' + (T.name[i] || ''));
      lyr.addTo(map);
    });
    var colours = T.v.map(function (v) { return T.colours[v]; });
    window.ecogisPoints = new PointLayer(O.x, O.y, colours, function (i, ll) {
      var box = el('div');
      var h = el('div'); h.appendChild(badge(T, T.v[i])); h.appendChild(document.createTextNode(' '));
      h.appendChild(el('b', null, T.id[i] + ' ' + (T.name[i] || ''))); box.appendChild(h);
      box.appendChild(el('div', null, conclusion(T, i)));
      var href = link(T, i);
      if (href) { var a = el('a', null, T.labels.detail); a.href = href; box.appendChild(a); }
      L.popup({maxWidth: Math.min(360, window.innerWidth - 60)}).setLatLng(ll).setContent(box).openOn(map);
    }).addTo(map);
    map.fitBounds(O.bounds, {padding: [12, 12], maxZoom: 15});
    return map;
  }

  function siteMap(div, D, styles) {
    var map = L.map(div, {zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false});
    L.control.scale({imperial: false, position: 'bottomleft', maxWidth: 160}).addTo(map);
    D.f.forEach(function (f) {  // fill without outline, then the feature's own boundary
      var st = styles[f[0]];
      if (f[1]) {
        var fill = geo(f[1], {style: {stroke: false, fill: true, fillColor: st.fillColor,
                                             fillOpacity: Math.max(st.fillOpacity || 0.25, 0.2)}});
        tip(fill, f[3]); fill.addTo(map);
      }
      if (f[2]) {
        var edge = geo(f[2], {style: {color: st.color, weight: st.weight || 1.5, dashArray: st.dashArray,
                                             fill: false}});
        tip(edge, f[3]); edge.addTo(map);
      }
    });
    D.a.forEach(function (g) { geo(g, {style: ADMIN, interactive: false}).addTo(map); });
    D.c.forEach(function (c) {
      var col = SEV[c[0]] || '#555';
      geo(c[1], {style: function (f) {
        var line = f.geometry && /Line/.test(f.geometry.type);
        return {color: col, weight: line ? 4 : 1.5, fillColor: col, fillOpacity: 0.45, dashArray: line ? '6 5' : null};
      }}).addTo(map);
    });
    geo(D.s, {style: SITE, pointToLayer: function (f, ll) {
      return L.circleMarker(ll, {radius: 7, color: SITE.color, weight: 3, fillOpacity: 0.3});
    }}).addTo(map);
    map.fitBounds(D.b, {maxZoom: 17});
    return map;
  }

  function loadData(done) {
    var node = document.getElementById('ecogis-data');
    if (node) { done(readJSON(node)); return; }
    var gz = document.getElementById('ecogis-data-gz'), text = gz ? gz.textContent : window.ecogisTableGz;
    if (!gz && document.getElementById('no-table') && typeof text !== 'string') {
      document.getElementById('no-table').hidden = false;  // sites/data/table.js not beside the report
    }
    if (typeof text !== 'string') { done(null); return; }
    if (!window.DecompressionStream || !window.Response || !window.Blob) {
      var warn = document.getElementById('no-gzip');
      if (warn) { warn.hidden = false; }
      done(null);
      return;
    }
    var bin = atob(text.trim()), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
      .then(function (text) { done(JSON.parse(text)); });
  }

  function start() { loadData(startWith); }

  function startWith(data) {
    var maps = [];
    if (data && data.table) {
      var T = data.table;
      T.provWord = T.provWord || '';
      var root = document.getElementById('site-list');
      if (root) { siteTable(T, root); }
      var ov = document.getElementById('overview-map');
      if (ov && window.L) { maps.push([overview(T, data.overview, ov), data.overview.bounds]); }
    }
    var styles = data ? data.styles : null;
    if (!styles) { var sn = document.getElementById('ecogis-styles'); styles = sn ? readJSON(sn) : []; }
    var pending = [];
    if (window.L) {
      document.querySelectorAll('script[data-map]').forEach(function (node) {
        var div = document.getElementById(node.getAttribute('data-map'));
        if (div) { pending.push([div, node]); }
      });
    }
    function drawOne(item) { var D = readJSON(item[1]); maps.push([siteMap(item[0], D, styles), D.b]); }
    function refit() {
      while (pending.length) { drawOne(pending.shift()); }  // printing: every map drawn first
      maps.forEach(function (m) { m[0].invalidateSize(false); m[0].fitBounds(m[1], {maxZoom: 17, animate: false}); });
    }
    window.addEventListener('beforeprint', refit);
    if (window.matchMedia) {
      var mq = window.matchMedia('print');
      if (mq.addEventListener) { mq.addEventListener('change', function (e) { if (e.matches) { refit(); } }); }
    }
    // the first maps at once, the rest a few at a time so that the page is usable at once
    pending.splice(0, 2).forEach(drawOne);
    function more() {
      pending.splice(0, 3).forEach(drawOne);
      if (pending.length) { setTimeout(more, 0); } else { document.documentElement.setAttribute('data-ecogis-ready', '1'); }
    }
    window.ecogisMaps = maps;
    window.ecogisDrawAll = refit;
    document.documentElement.setAttribute('data-ecogis-interactive', '1');
    more();
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
