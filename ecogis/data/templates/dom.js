/* ecogis: helpers shared by the reviewer's report (report.js) and the site viewer (viewer.js).
 * Put before either script.  Values go into the page only as text (textContent), never as HTML. */
var ecogisDom = (function () {
  'use strict';

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  /* x with d decimals as Python's format() writes it: toFixed, except that an exact tie (x * 2^(d+1) an odd
   * integer) is rounded half to even, as Python does, where toFixed rounds it up. */
  function fixed(x, d) {
    x = Number(x);
    var t = x * Math.pow(2, d + 1);
    if (isFinite(t) && Math.abs(t) < 9e15 && Number.isInteger(t) && t % 2 !== 0) {
      var r = Math.floor(x * Math.pow(10, d));
      if (r % 2 !== 0) { r += 1; }
      return (r / Math.pow(10, d)).toFixed(d);
    }
    return x.toFixed(d);
  }
  function fmt(x, d) {
    var s = fixed(x, d), parts = s.split('.');
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return parts.join('.');
  }
  function tpl(s, o) { return s.replace(/\{(\w+)\}/g, function (m, k) { return o[k] !== undefined ? o[k] : m; }); }
  return {el: el, fixed: fixed, fmt: fmt, tpl: tpl};
})();
