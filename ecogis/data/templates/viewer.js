/* ecogis site viewer (sites/site.html#<site id>): one flagged site of a large batch report.
 * The site's data come from data/index.js and data/chunk-NNNN.js (script files calling ecogisIndex /
 * ecogisChunk with a column layout and a base64 string, so the page works from file:// with no server).
 * Every value from data is put into the page as text (textContent, DOM nodes), never as HTML. */
(function () {
  'use strict';
  var IDX = null, chunks = {}, feats = {}, admin = null, map = null, loading = {};
  var dec = new TextDecoder('utf-8');
  var CTOR = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u1: Uint8Array, i1: Int8Array};
  var SITE = {color: '#3f007d', weight: 3, fill: true, fillColor: '#6a3d9a', fillOpacity: 0.08};
  var ADMIN = {color: '#525252', weight: 1.5, dashArray: '8 4 2 4', fill: false, interactive: false};
  var SEV = {prohibited: '#d7191c', restricted: '#f28c28', review: '#ffbf00', notice: '#2c7bb6'};

  var el = ecogisDom.el, fixed = ecogisDom.fixed, fmt = ecogisDom.fmt, tpl = ecogisDom.tpl;
  function add(parent, child) { parent.appendChild(child); return child; }

  // ------------------------------------------------------------------ loading the data scripts
  function load(src, done) {
    if (loading[src]) { loading[src].push(done); return; }
    loading[src] = [done];
    var s = document.createElement('script');
    s.src = src;
    s.onload = function () { var d = loading[src]; loading[src] = null; d.forEach(function (f) { f(true); }); };
    s.onerror = function () { var d = loading[src]; loading[src] = null; d.forEach(function (f) { f(false); }); };
    document.head.appendChild(s);
  }
  function pad(k) { return ('000' + k).slice(-4); }
  window.ecogisIndex = function (d) { IDX = d; };
  window.ecogisChunk = function (k, head, blob) { chunks[k] = unpack(head, blob); };
  window.ecogisFeatures = function (k, head, blob) { feats[k] = unpack(head, blob); };
  window.ecogisAdmin = function (d) { admin = d; };

  /* LZ4 block decompression (the raw format, no frame): the packed text columns ('l'). */
  function lz4(src, size) {
    var dst = new Uint8Array(size), i = 0, o = 0, n = src.length, b;
    while (i < n) {
      var tok = src[i++], lit = tok >> 4;
      if (lit === 15) { do { b = src[i++]; lit += b; } while (b === 255 && i < n); }
      dst.set(src.subarray(i, i + lit), o); i += lit; o += lit;
      if (i >= n) { break; }
      var off = src[i] | (src[i + 1] << 8), ml = tok & 15;
      i += 2;
      if (ml === 15) { do { b = src[i++]; ml += b; } while (b === 255 && i < n); }
      ml += 4;
      if (off <= 0 || off > o || o + ml > size) { throw new Error('bad LZ4 data'); }
      for (var k = 0; k < ml; k++) { dst[o] = dst[o - off]; o++; }
    }
    if (o !== size) { throw new Error('bad LZ4 data'); }
    return dst;
  }

  function unpack(head, b64) {
    var bin = atob(b64), u8 = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { u8[i] = bin.charCodeAt(i); }
    var T = {head: head};
    head.layout.forEach(function (e) {
      var t = T[e[0]] || (T[e[0]] = {});
      if (e[1] === 'gscale') { t.gscale = e[3]; return; }
      if (e[2] === 's' || e[2] === 'l') {
        var col = {off: new Int32Array(u8.buffer, e[5], e[6] / 4)}, bytes = u8.subarray(e[3], e[3] + e[4]);
        col.u8 = e[2] === 'l' ? lz4(bytes, col.off[col.off.length - 1]) : bytes;
        t[e[1]] = col;
      } else {
        var C = CTOR[e[2]];
        t[e[1]] = new C(u8.buffer, e[3], e[4] / C.BYTES_PER_ELEMENT);
      }
    });
    Object.keys(T).forEach(function (k) { if (T[k].gp) { offsets(T[k]); } });
    return T;
  }
  function str(col, i) { return dec.decode(col.u8.subarray(col.off[i], col.off[i + 1])); }
  function cum(a) { var o = new Float64Array(a.length + 1); for (var i = 0; i < a.length; i++) { o[i + 1] = o[i] + a[i]; } return o; }
  function offsets(t) { t.pOff = cum(t.gp); t.rOff = cum(t.gr); t.cOff = cum(t.gc); }

  /* Geometry i of a table as GeoJSON (null when missing or empty). */
  function geom(t, i) {
    var polys = [], lines = [], points = [], s = t.gscale || 1;
    for (var p = t.pOff[i]; p < t.pOff[i + 1]; p++) {
      var rings = [];
      for (var r = t.rOff[p]; r < t.rOff[p + 1]; r++) {
        var ring = [];
        for (var c = t.cOff[r]; c < t.cOff[r + 1]; c++) { ring.push([t.gxy[2 * c] * s, t.gxy[2 * c + 1] * s]); }
        rings.push(ring);
      }
      if (t.gt[p] === 3) { polys.push(rings); } else if (t.gt[p] === 2) { lines.push(rings[0]); } else { points.push(rings[0][0]); }
    }
    var g = [];
    if (polys.length) { g.push({type: 'MultiPolygon', coordinates: polys}); }
    if (lines.length) { g.push({type: 'MultiLineString', coordinates: lines}); }
    if (points.length) { g.push({type: 'MultiPoint', coordinates: points}); }
    return g.length === 0 ? null : g.length === 1 ? g[0] : {type: 'GeometryCollection', geometries: g};
  }
  function bounds(t, i, b) {
    var s = t.gscale || 1;
    for (var c = t.cOff[t.rOff[t.pOff[i]]]; c < t.cOff[t.rOff[t.pOff[i + 1]]]; c++) {
      var x = t.gxy[2 * c] * s, y = t.gxy[2 * c + 1] * s;
      if (x < b[0]) { b[0] = x; } if (y < b[1]) { b[1] = y; } if (x > b[2]) { b[2] = x; } if (y > b[3]) { b[3] = y; }
    }
    return b;
  }

  // ------------------------------------------------------------------ texts
  var ZERO_AREA = /(?:重叠)?0\.0000\s*(?:公顷|ha)(?:\s*[（(]\s*0\.00\s*(?:亩|mu)[^）)]*[）)])?/g;
  var PARAM_NOTE = /[（(][^（）()]*(?<![\p{L}\p{N}_])[a-z][a-z0-9]*_[a-z0-9_]+(?![\p{L}\p{N}_])[^（）()]*[）)]/gu;
  var EMPTY_PLACEHOLDER = /[（(]\s*—\s*[）)]/g;
  var SHARE = /占(?:项目|地块)(?:用地)?(?:面积)?(?:的)?\s*(?=[\p{Nd}.,]+\s*%)/gu;
  /* The same clean-up as ecogis.render.report_text.clean_official (Chinese report only). */
  function clean(s) {
    if (IDX.lang !== 'zh') { return s; }
    return s.replace(PARAM_NOTE, '').replace(EMPTY_PLACEHOLDER, '').replace(SHARE, '占项目用地面积的').trim();
  }
  window.ecogisClean = function (s) { return clean(String(s)); };

  function measure(mk, q0, q1, q2) {
    var L = IDX.labels;
    if (mk === 1) { return tpl(L.overlap, {ha: fmt(q0, 4), mu: fmt(q1, 2), pct: fmt(q2, 2)}); }
    if (mk === 2) { return tpl(L.overlap_nopct, {ha: fmt(q0, 4), mu: fmt(q1, 2)}); }
    if (mk === 3) { return tpl(L.crossing, {len: fmt(q0, 1), n: String(q1)}); }
    if (mk === 4) { return tpl(L.distance, {d: fmt(q0, 0)}); }
    if (mk === 5) { return L.inside_point; }
    return '';
  }
  function featureText(kind, name, zone) {
    var zh = IDX.lang === 'zh', t = IDX.kinds[kind] || '';
    if (name) { t += (zh ? '“' : ' “') + name + '”'; }
    if (zone) { t += (zh ? '（' : ' (') + zone + (zh ? '）' : ')'); }
    return t;
  }
  function message(f, i) {
    var m = clean(str(f.msg, i)), mk = f.mk[i];
    if (mk === 3) { m = m.replace(ZERO_AREA, (IDX.lang === 'zh' ? '穿越' : 'crossing ') + fmt(f.q0[i], 1) + (IDX.lang === 'zh' ? '米' : ' m')); }
    if (mk === 5) { m = m.replace(ZERO_AREA, IDX.lang === 'zh' ? '（点位位于其范围内）' : ' (the point lies inside)'); }
    return m;
  }
  function badge(text, colour, cls) { var b = el('span', cls || 'badge', text); if (colour) { b.style.background = colour; } return b; }

  // ------------------------------------------------------------------ 界址点坐标表 (CGCS2000 3-degree Gauss-Krüger)
  /* Forward transverse Mercator by Krüger's series to order n^6 (Karney 2011), CGCS2000 ellipsoid, k0 = 1,
   * false easting 500 km with the zone number in front: the projection of EPSG:4513-4533 (what pyproj gives,
   * to well under a millimetre inside a 3-degree zone). */
  var GK = (function () {
    var a = 6378137, f = 1 / 298.257222101, n = f / (2 - f), n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
    var A = a / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256), e = Math.sqrt(f * (2 - f));
    var al = [n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
      13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
      61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
      49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
      34729 * n5 / 80640 - 3418889 * n6 / 1995840, 212378941 * n6 / 319334400];
    return function (lon, lat, zone) {
      var phi = lat * Math.PI / 180, lam = (lon - 3 * zone) * Math.PI / 180, s = Math.sin(phi);
      var t = Math.sinh(Math.atanh(s) - e * Math.atanh(e * s));
      var xi = Math.atan2(t, Math.cos(lam)), eta = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
      var x = xi, y = eta;
      for (var j = 1; j <= 6; j++) {
        x += al[j - 1] * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
        y += al[j - 1] * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
      }
      return [A * y + 500000 + zone * 1e6, A * x];  // [easting Y, northing X]
    };
  })();
  window.ecogisGK = GK;

  /* The centroid's longitude (as GEOS computes it: area-, length- or count-weighted by the highest dimension). */
  function centroidX(t, i) {
    var sa = 0, sx = 0, sl = 0, slx = 0, np = 0, spx = 0, dim = -1, s = t.gscale || 1;
    for (var p = t.pOff[i]; p < t.pOff[i + 1]; p++) {
      var d = t.gt[p] === 3 ? 2 : t.gt[p] === 2 ? 1 : 0;
      if (d > dim) { dim = d; }
      for (var r = t.rOff[p]; r < t.rOff[p + 1]; r++) {
        var c0 = t.cOff[r], c1 = t.cOff[r + 1], bx = t.gxy[2 * c0] * s, by = t.gxy[2 * c0 + 1] * s;
        for (var c = c0; c < c1 - 1; c++) {
          var x0 = t.gxy[2 * c] * s, y0 = t.gxy[2 * c + 1] * s, x1 = t.gxy[2 * c + 2] * s, y1 = t.gxy[2 * c + 3] * s;
          if (d === 2) {  // triangles from the ring's first vertex
            var ar = ((x0 - bx) * (y1 - by) - (x1 - bx) * (y0 - by)) / 2;
            sa += ar; sx += ar * (bx + x0 + x1) / 3;
          } else if (d === 1) {
            var l = Math.hypot(x1 - x0, y1 - y0);
            sl += l; slx += l * (x0 + x1) / 2;
          }
        }
        if (d === 0) { for (c = c0; c < c1; c++) { np++; spx += t.gxy[2 * c] * s; } }
      }
    }
    if (dim === 2 && sa !== 0) { return sx / sa; }
    if (dim >= 1 && sl > 0) { return slx / sl; }
    return np ? spx / np : NaN;
  }

  /* Rows (点号, 圈号, X, Y, lon, lat) of a site in the order of a 国土TXT (ecogis.export.guotu): outer rings
   * clockwise from the vertex nearest the north-western corner of their box, holes anticlockwise, every ring
   * closed on its first point; lines one 圈 per part; points 圈 1. */
  function boundaryRows(t, i, zone) {
    var rows = [], pno = 0, ringNo = 0, s = t.gscale || 1;
    for (var p = t.pOff[i]; p < t.pOff[i + 1]; p++) {
      var poly = t.gt[p] === 3;
      for (var r = t.rOff[p]; r < t.rOff[p + 1]; r++) {
        var c0 = t.cOff[r], c1 = t.cOff[r + 1], v = [];
        for (var c = c0; c < c1; c++) {
          var lon = t.gxy[2 * c] * s, lat = t.gxy[2 * c + 1] * s, q = GK(lon, lat, zone);
          v.push([q[0], q[1], lon, lat]);
        }
        if (t.gt[p] !== 2 || r === t.rOff[p]) { ringNo = poly || t.gt[p] === 2 ? ringNo + 1 : 1; }
        if (!poly) {
          v.forEach(function (w) { pno++; rows.push([pno, ringNo, w[1], w[0], w[2], w[3]]); });
          continue;
        }
        v.pop();  // the closing repeat
        var m = v.length, area = 0, k;
        for (k = 0; k < m; k++) { var w0 = v[k], w1 = v[(k + 1) % m]; area += w0[0] * w1[1] - w1[0] * w0[1]; }
        var exterior = r === t.rOff[p];
        if ((area > 0) === exterior) { v = [v[0]].concat(v.slice(1).reverse()); }  // turned, from the same vertex
        var minx = Infinity, maxy = -Infinity;
        v.forEach(function (w) { if (w[0] < minx) { minx = w[0]; } if (w[1] > maxy) { maxy = w[1]; } });
        var best = 0, bd = Infinity;
        for (k = 0; k < m; k++) {
          var dd = (v[k][0] - minx) * (v[k][0] - minx) + (v[k][1] - maxy) * (v[k][1] - maxy);
          if (dd < bd) { bd = dd; best = k; }
        }
        var first = pno + 1;
        for (k = 0; k < m; k++) { var w = v[(best + k) % m]; pno++; rows.push([pno, ringNo, w[1], w[0], w[2], w[3]]); }
        var w2 = v[best];
        rows.push([first, ringNo, w2[1], w2[0], w2[2], w2[3]]);
      }
    }
    return rows;
  }

  function coordTable(sec, t, i) {
    var L = IDX.labels, cx = centroidX(t, i);
    if (!isFinite(cx)) { return; }
    var zone = Math.floor(cx / 3 + 0.5), rows = boundaryRows(t, i, zone);
    if (!rows.length) { return; }
    var shown = rows.slice(0, IDX.maxCoordRows);
    add(sec, el('h3', null, L.coords));
    var note = tpl(L.coords_note, {w: 3, z: zone, cm: 3 * zone});
    if (rows.length > shown.length) { note += ' ' + tpl(L.coords_cut, {n: rows.length, k: shown.length}); }
    add(sec, el('p', 'small', note));
    var tb = add(add(sec, el('div', 'wide')), el('table', 'coords'));
    var hr = add(add(tb, el('thead')), el('tr'));
    [L.point_no, L.ring_no, L.x, L.y, L.lon, L.lat].forEach(function (h) { add(hr, el('th', null, h)); });
    var body = add(tb, el('tbody'));
    shown.forEach(function (q) {
      var tr = add(body, el('tr'));
      ['J' + q[0], String(q[1]), fixed(q[2], 3), fixed(q[3], 3), fixed(q[4], 7), fixed(q[5], 7)]
        .forEach(function (x) { add(tr, el('td', null, x)); });
    });
  }

  // ------------------------------------------------------------------ one site
  function show(msg) {
    var main = document.getElementById('site-detail');
    main.replaceChildren(el('p', 'note', msg));
  }

  function route() {
    var id = '';
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { id = location.hash.slice(1); }
    var pos = IDX.ids.indexOf(id);
    if (pos < 0 && !id && IDX.ids.length) { pos = 0; }
    if (pos < 0) { show(tpl(IDX.labels.not_found, {id: id})); ready(); return; }
    var k = Math.floor(pos / IDX.size), file = 'data/chunk-' + pad(k) + '.js';
    if (chunks[k]) { render(pos, chunks[k], pos - k * IDX.size); return; }
    load(file, function (ok) {
      if (!ok || !chunks[k]) { show(tpl(IDX.labels.no_data, {file: file})); ready(); return; }
      render(pos, chunks[k], pos - k * IDX.size);
    });
  }

  function nav(pos) {
    var n = IDX.ids.length, prev = document.getElementById('prev-site'), next = document.getElementById('next-site');
    var info = document.getElementById('site-pos');
    info.textContent = tpl(IDX.labels.of_flagged, {i: (pos + 1).toLocaleString('en-US'), n: n.toLocaleString('en-US')});
    prev.hidden = pos <= 0; next.hidden = pos >= n - 1;
    if (pos > 0) { prev.href = '#' + encodeURIComponent(IDX.ids[pos - 1]); }
    if (pos < n - 1) { next.href = '#' + encodeURIComponent(IDX.ids[pos + 1]); }
  }

  function render(pos, C, j) {
    var L = IDX.labels, s = C.s, f = C.f, colon = IDX.colon;
    var id = str(s.id, j), name = str(s.name, j), v = s.v[j], vtext = IDX.verdictText[v];
    var colour = IDX.verdictColour[v];
    document.title = L.site + ' ' + id + ' · ' + L.title;
    nav(pos);
    var sec = el('section', 'site');
    sec.id = 'site';
    sec.style.setProperty('--vc', colour);
    var h2 = add(sec, el('h2', null, L.site + ' ' + id + (name ? ' · ' + name : '') + ' '));
    h2.appendChild(badge(vtext, colour));
    if (s.p[j]) { h2.appendChild(document.createTextNode(' ')); h2.appendChild(badge(IDX.provText, null, 'badge prov')); }
    var c = add(sec, el('p', 'conclusion'));
    add(c, el('b', null, L.verdict + colon));
    var line = vtext + (s.p[j] ? IDX.provWord : '') + colon + str(s.h, j) + measure(s.mk[j], s.q0[j], s.q1[j], s.q2[j]) + (IDX.tails[s.tail[j]] || '');
    c.appendChild(document.createTextNode(line));

    // facts
    var lin = !!s.lin[j], cov = s.cov[j], cpct = s.cpct[j];
    var area = lin ? fmt(s.len[j], 1) + ' ' + L.metre : s.pt[j] ? L.point_site :
      IDX.lang === 'zh' ? fmt(s.ha[j], 4) + ' ' + L.hectare + '（' + fmt(s.mu[j], 2) + ' ' + L.mu + '）'
                        : fmt(s.ha[j], 4) + ' ' + L.hectare + ' (' + fmt(s.mu[j], 2) + ' ' + L.mu + ')';
    var facts = add(add(sec, el('table', 'facts')), el('tbody'));
    function row(cells) {
      var tr = add(facts, el('tr'));
      cells.forEach(function (cell) { var td = add(tr, el(cell[0], null, cell[1])); if (cell[2]) { td.colSpan = cell[2]; } });
    }
    var industry = str(s.industry, j), nature = str(s.nature, j), checked = IDX.checked[s.checked[j]] || '';
    row([['th', lin ? L.length : L.area], ['td', area], ['th', L.industry], ['td', industry || '—']]);
    row([['th', L.nature], ['td', nature || '—'], ['th', L.coverage],
         ['td', IDX.coverage[cov] + (cov === 1 && !lin ? (IDX.lang === 'zh' ? '（' + fixed(cpct, 1) + '%）' : ' (' + fixed(cpct, 1) + '%)') : '')]]);
    row([['th', L.linear], ['td', lin ? L.yes : L.no], ['th', L.national_major], ['td', s.maj[j] ? L.yes : L.no]]);
    row([['th', L.checked], ['td', checked || '—', 3]]);
    if (s.p[j]) { add(sec, el('p', 'note', L.no_industry)); }
    if (cov !== 0) {
      add(sec, el('p', 'note', lin ? L.coverage_note_line
        : tpl(L.coverage_note, {pct: fixed(cpct, 1), rest: fixed(Math.max(100 - cpct, 0), 1)})));
    }
    if (IDX.verdicts[v] === 'incomplete') { add(sec, el('p', 'note', L.incomplete_note)); }
    if (s.noteval[j]) { add(sec, el('p', 'note', L.not_evaluated)); }

    // the findings of this site: a run of the chunk's findings table
    var f0 = 0;
    for (var q = 0; q < j; q++) { f0 += s.nf[q]; }
    var nf = s.nf[j], rows = [];
    for (var i = f0; i < f0 + nf; i++) { rows.push(i); }

    add(sec, el('h3', null, L.site_map));
    var div = add(sec, el('div', 'site-map'));
    div.id = 'site-map';
    div.setAttribute('role', 'img');
    div.setAttribute('aria-label', L.site_map + ' ' + id);
    var legend = add(sec, el('div', 'map-legend'));

    add(sec, el('h3', null, L.findings + (IDX.lang === 'zh' ? '（' + nf + '）' : ' (' + nf + ')')));
    if (!nf) { add(sec, el('p', null, L.none)); }
    IDX.severities.forEach(function (sev, si) {
      var items = rows.filter(function (i) { return f.sev[i] === si; });
      if (!items.length) { return; }
      var t = add(sec, el('table', 'findings stack'));
      var head = add(t, el('thead'));
      var th = add(add(head, el('tr')), el('th'));
      th.colSpan = 4;
      th.appendChild(badge(IDX.sevText[si], IDX.verdictColour[IDX.verdicts.indexOf(sev)]));
      th.appendChild(document.createTextNode(' ' + items.length));
      var hr = add(head, el('tr'));
      [ '#', L.rule + ' / ' + L.feature, L.measure, L.message + ' / ' + L.basis + ' / ' + L.next_steps ].forEach(function (h) { add(hr, el('th', null, h)); });
      var body = add(t, el('tbody'));
      items.forEach(function (i, n) {
        var tr = add(body, el('tr'));
        add(tr, el('td', null, String(n + 1)));
        var what = add(tr, el('td', 'what'));
        what.setAttribute('data-l', L.rule);
        add(what, el('b', null, IDX.rules[f.rule[i]] || ''));
        add(what, el('br'));
        what.appendChild(document.createTextNode(featureText(f.kind[i], str(f.fname, i), str(f.zone, i))));
        var ms = add(tr, el('td', 'measure', measure(f.mk[i], f.q0[i], f.q1[i], f.q2[i]) || '—'));
        ms.setAttribute('data-l', L.measure);
        var td = add(tr, el('td'));
        function para(label, text) {
          var p = add(td, el('p'));
          if (label) { add(p, el('span', 'lbl', label + colon)); }
          p.appendChild(document.createTextNode(text));
        }
        var cond = clean(str(f.cond, i)), quest = clean(str(f.quest, i));
        if (cond) { para(L.condition, cond); }
        para(null, message(f, i));
        para(L.basis, IDX.basis[f.basis[i]] || '');
        var cite = IDX.cites[f.cite[i]] || '';
        if (cite) { para(L.source, cite); }
        var steps = IDX.steps[f.steps[i]] || [];
        if (steps.length) { para(L.next_steps, steps.join(IDX.lang === 'zh' ? '；' : '; ')); }
        if (quest) { para(L.question, quest); }
      });
    });

    coordTable(sec, s, j);

    // access-list rows (issue 15)
    if (C.a && C.a.site) {
      var arows = [];
      for (var r = 0; r < C.a.site.length; r++) { if (C.a.site[r] === j) { arows.push(r); } }
      if (arows.length) {
        add(sec, el('h3', null, L.access));
        var at = add(add(sec, el('div', 'wide')), el('table', 'access'));
        var ah = add(add(at, el('thead')), el('tr'));
        (IDX.lang === 'zh' ? ['单元编码', '单元名称', '类别', '维度', '要求原文', '对照结果', '依据']
                           : ['unit code', 'unit', 'class', 'dimension', 'requirement (verbatim)', 'result', 'basis'])
          .forEach(function (h) { add(ah, el('th', null, h)); });
        var ab = add(at, el('tbody'));
        arows.forEach(function (r) {
          var tr = add(ab, el('tr'));
          ['unit_code', 'unit_name', 'unit_class', 'dimension', 'text'].forEach(function (k) { add(tr, el('td', null, str(C.a[k], r))); });
          var res = add(tr, el('td'));
          add(res, el('b', null, str(C.a.result, r)));
          var note = str(C.a.note, r), qq = str(C.a.question, r);
          if (note) { add(res, el('br')); add(res, el('span', 'small', note)); }
          if (qq) { add(res, el('br')); add(res, el('span', 'small', (IDX.lang === 'zh' ? '待确认：' : 'to confirm: ') + qq)); }
          add(tr, el('td', 'small', str(C.a.basis, r)));
        });
      }
    }

    var main = document.getElementById('site-detail');
    main.replaceChildren(sec);
    drawMap(div, legend, C, j, rows);
  }

  // ------------------------------------------------------------------ the site map
  function geo(data, opts) {
    opts = opts || {};
    if (!opts.pointToLayer) { opts.pointToLayer = function (f, ll) { return L.circleMarker(ll, {radius: 4}); }; }
    return L.geoJSON(data, opts);
  }
  function tip(layer, text) { if (text) { layer.bindTooltip(el('span', 'ecogis-tip', text), {sticky: true}); } }
  function legendItem(box, fill, stroke, text, line) {
    var sp = add(box, el('span')), i = add(sp, el('i', line ? 'line' : null));
    if (fill) { i.style.background = fill; }
    i.style.borderColor = stroke;
    sp.appendChild(document.createTextNode(text));
  }

  function drawMap(div, legend, C, j, rows) {
    if (map) { map.remove(); map = null; }
    if (!window.L) { ready(); return; }
    var s = C.s, f = C.f, Lb = IDX.labels;
    map = L.map(div, {zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false});
    L.control.scale({imperial: false, position: 'bottomleft', maxWidth: 160}).addTo(map);
    var b = bounds(s, j, [Infinity, Infinity, -Infinity, -Infinity]);
    var fb = b.slice();
    rows.forEach(function (i) { bounds(f, i, fb); });
    // the view: the site and its conflicts, with a margin (at least 300 m)
    var lat = (fb[1] + fb[3]) / 2, mdy = 300 / 111320, mdx = mdy / Math.max(Math.cos(lat * Math.PI / 180), 0.05);
    var dx = Math.max((fb[2] - fb[0]) * 0.6, mdx), dy = Math.max((fb[3] - fb[1]) * 0.6, mdy);
    var view = [[fb[1] - dy, fb[0] - dx], [fb[3] + dy, fb[2] + dx]];
    var sevs = {};
    rows.forEach(function (i) { sevs[f.sev[i]] = true; });
    legendItem(legend, 'rgba(106,61,154,.15)', '#3f007d', Lb.site_outline);
    IDX.severities.forEach(function (sev, si) {
      if (sevs[si]) { legendItem(legend, IDX.sevLegend[si][1], IDX.sevLegend[si][2], Lb.conflict + '·' + IDX.sevLegend[si][0]); }
    });
    var featLegend = add(legend, el('span'));
    featLegend.style.display = 'contents';
    legendItem(legend, null, '#525252', Lb.county, true);

    var conflicts = L.featureGroup(), features = L.featureGroup().addTo(map), site = L.featureGroup();
    rows.forEach(function (i) {
      var g = geom(f, i);
      if (!g) { return; }
      var col = SEV[IDX.severities[f.sev[i]]] || '#555';
      geo(g, {style: function (ft) {
        var line = ft.geometry && /Line/.test(ft.geometry.type);
        return {color: col, weight: line ? 4 : 1.5, fillColor: col, fillOpacity: 0.45, dashArray: line ? '6 5' : null};
      }}).addTo(conflicts);
    });
    var sg = geom(s, j);
    if (sg) {
      geo(sg, {style: SITE, pointToLayer: function (ft, ll) {
        return L.circleMarker(ll, {radius: 7, color: SITE.color, weight: 3, fillOpacity: 0.3});
      }}).addTo(site);
    }
    map.fitBounds(view, {maxZoom: 17, animate: false});
    // the features the site touches (whole, with their own boundaries), then the county line, conflicts, site
    var need = {}, files = {}, labels = {};
    rows.forEach(function (i) {
      var fi = f.feat[i];
      if (fi < 0 || need[fi]) { return; }
      need[fi] = true;
      labels[fi] = featureText(f.kind[i], str(f.fname, i), str(f.zone, i));
      var k = 0;
      while (k + 1 < IDX.featCuts.length - 1 && IDX.featCuts[k + 1] <= fi) { k++; }
      files[k] = true;
    });
    var todo = Object.keys(files).length + 1;
    function done() {
      if (--todo > 0) { return; }
      var shown = {};
      Object.keys(need).forEach(function (fi) {
        fi = Number(fi);
        var k = 0;
        while (k + 1 < IDX.featCuts.length - 1 && IDX.featCuts[k + 1] <= fi) { k++; }
        var T = feats[k];
        if (!T) { return; }
        var li = fi - T.head.first, st = IDX.styles[T.g.style[li]] || {}, g = geom(T.g, li);
        if (!g) { return; }
        var lyr = geo(g, {style: {color: st.color, weight: st.weight || 1.5, dashArray: st.dashArray,
                                  fillColor: st.fillColor, fillOpacity: Math.max(st.fillOpacity || 0.25, 0.2)}});
        tip(lyr, labels[fi]);
        lyr.addTo(features);
        shown[T.g.style[li]] = true;
      });
      Object.keys(shown).map(Number).sort(function (a, b) { return a - b; }).forEach(function (si) {
        var st = IDX.styles[si] || {};
        legendItem(featLegend, st.fillColor, st.color, IDX.styleLabels[si]);
      });
      if (admin) { admin.forEach(function (g) { geo(g, {style: ADMIN, interactive: false}).addTo(map); }); }
      conflicts.addTo(map);
      site.addTo(map);
      window.ecogisViewer = {map: map, view: view, features: features, conflicts: conflicts, site: site};
      ready();
    }
    Object.keys(files).forEach(function (k) {
      if (feats[k]) { done(); return; }
      load('data/feat-' + pad(Number(k)) + '.js', function () { done(); });
    });
    if (admin) { done(); } else { load('data/admin.js', function () { done(); }); }
  }

  function ready() {
    document.documentElement.setAttribute('data-ecogis-ready', '1');
    document.documentElement.setAttribute('data-ecogis-site', location.hash.slice(1));
  }

  function start() {
    load('data/index.js', function (ok) {
      if (!ok || !IDX) { document.getElementById('site-detail').replaceChildren(el('p', 'note', 'data/index.js')); ready(); return; }
      window.addEventListener('hashchange', function () { document.documentElement.removeAttribute('data-ecogis-ready'); route(); window.scrollTo(0, 0); });
      route();
    });
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
