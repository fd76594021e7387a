/* ecogis serve: the page scripts (no inline script anywhere; data is read from data- attributes and JSON,
   and always put on the page as text, never as HTML). */
(function () {
  "use strict";
  var CHINA = [[18, 73], [54, 135]];

  function baseMap(el) {
    var map = L.map(el, { preferCanvas: false });
    map.fitBounds(CHINA);
    return map;   // no tile layer: the app works offline; the site, findings and drawing are the map
  }

  function colour(p) {
    var c = { prohibited: "#b2182b", restricted: "#ef8a62", review: "#f4a582", incomplete: "#8073ac",
              notice: "#67a9cf", clear: "#1a9850", not_covered: "#999999" };
    return c[p.severity || p.verdict] || "#555";
  }

  // ---- the result map
  var rmap = document.querySelector("#map[data-geojson]");
  if (rmap) {
    var map = baseMap(rmap);
    fetch(rmap.getAttribute("data-geojson"), { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (gj) {
        var layer = L.geoJSON(gj, {
          style: function (f) { var s = f.properties.layer === "site";
            return { color: colour(f.properties), weight: s ? 3 : 1, fillOpacity: s ? 0.05 : 0.5, dashArray: s ? "6 4" : null }; },
          pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 6 }); },
          onEachFeature: function (f, l) {
            var p = f.properties, el = document.createElement("span");
            el.textContent = (p.site_id || "") + " " + (p.rule_id || p.verdict || "");
            l.bindTooltip(el);
          }
        }).addTo(map);
        if (layer.getLayers().length) { map.fitBounds(layer.getBounds(), { maxZoom: 15 }); }
      });
  }

  // ---- the draw control (own, small: point, line, polygon by clicks)
  var dmap = document.querySelector("#map[data-mode=draw]");
  if (dmap) {
    var m = baseMap(dmap), mode = null, pts = [], shape = null, status = document.getElementById("draw-status");
    var out = document.getElementById("drawn");
    function redraw() {
      if (shape) { m.removeLayer(shape); shape = null; }
      if (!pts.length) { return; }
      if (mode === "point") { shape = L.circleMarker(pts[0], { radius: 7 }); }
      else if (mode === "line") { shape = L.polyline(pts); }
      else { shape = L.polygon(pts); }
      shape.addTo(m);
    }
    function write() {
      var c = pts.map(function (p) { return [p.lng, p.lat]; }), g = null;
      if (mode === "point" && c.length) { g = { type: "Point", coordinates: c[0] }; }
      else if (mode === "line" && c.length >= 2) { g = { type: "LineString", coordinates: c }; }
      else if (mode === "polygon" && c.length >= 3) { g = { type: "Polygon", coordinates: [c.concat([c[0]])] }; }
      out.value = g ? JSON.stringify({ type: "FeatureCollection", features: [{ type: "Feature", properties: {}, geometry: g }] }) : "";
      status.textContent = g ? g.type + " · " + c.length : "";
    }
    m.on("click", function (e) {
      if (!mode) { return; }
      if (mode === "point") { pts = [e.latlng]; } else { pts.push(e.latlng); }
      redraw(); write();
    });
    document.querySelectorAll("[data-draw]").forEach(function (b) {
      b.addEventListener("click", function () {
        var a = b.getAttribute("data-draw");
        if (a === "clear") { pts = []; redraw(); out.value = ""; status.textContent = ""; mode = null; return; }
        if (a === "finish") { mode = null; return; }
        mode = a; pts = []; redraw(); write();
      });
    });
  }

  // ---- the industry picker
  var search = document.getElementById("industry-search");
  if (search) {
    var list = document.getElementById("industry-list"), hidden = document.getElementById("industry");
    var label = document.getElementById("industry-label"), known = {}, timer = null;
    function pick() {
      var v = search.value.trim(), code = v.split(" ")[0].toUpperCase();
      if (known[code]) { hidden.value = code; label.textContent = code + " " + known[code]; }
      else if (/^[A-T]\d{0,4}$/.test(code)) { hidden.value = code; label.textContent = code; }
      else { hidden.value = ""; label.textContent = ""; }
    }
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/api/industries?q=" + encodeURIComponent(search.value.trim()), { credentials: "same-origin" })
          .then(function (r) { return r.json(); }).then(function (items) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            items.forEach(function (i) {
              known[i.code] = i.name;
              var o = document.createElement("option");
              o.value = i.code + " " + i.name; o.textContent = i.py;
              list.appendChild(o);
            });
            pick();
          });
      }, 150);
      pick();
    });
    search.addEventListener("change", pick);
  }

  // ---- a batch job's progress
  var stage = document.getElementById("job-stage");
  if (stage) {
    var jid = stage.getAttribute("data-job");
    (function poll() {
      fetch("/api/jobs/" + encodeURIComponent(jid), { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (j) {
          stage.textContent = j.stage;
          if (j.state === "done") { window.location.href = "/screenings/" + encodeURIComponent(j.record); }
          else if (j.state === "failed") { document.getElementById("job-error").textContent = j.error; }
          else { setTimeout(poll, 700); }
        });
    })();
  }
})();
