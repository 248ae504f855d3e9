// Tact console: live validation and count in the segment editor. Every
// page works without this script (the forms submit and the server
// re-renders); this only saves the round trip while typing.
(function () {
  "use strict";
  var expr = document.getElementById("expr");
  if (!expr) { return; }
  var purpose = document.getElementById("purpose");
  var channel = document.getElementById("channel");
  var status = document.getElementById("expr-status");
  var count = document.getElementById("count");
  var size = document.getElementById("segment-size");
  var bar = document.getElementById("bar");
  var saveExpr = document.getElementById("save-expr");
  var lang = document.documentElement.lang;
  var timer = null, seq = 0, inflight = null;
  var fmt = function (n) { return Number(n).toLocaleString(lang === "th" ? "th-TH" : "en-US"); };
  var text = function (el, s, cls) { el.textContent = ""; var sp = document.createElement("span"); sp.className = cls || ""; sp.textContent = s; el.appendChild(sp); return sp; };
  function update() {
    if (saveExpr) { saveExpr.value = expr.value; }
    var mine = ++seq;
    // A newer keystroke cancels the count in flight (the server stops it).
    if (inflight) { inflight.abort(); }
    inflight = new AbortController();
    var q = new URLSearchParams({ expr: expr.value, purpose: purpose.value, channel: channel.value });
    fetch("/console/segments/live?" + q.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin", signal: inflight.signal })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        if (mine !== seq) { return; }
        if (res.error) {
          var at = res.error.line ? (lang === "th" ? "บรรทัด " + res.error.line + " คอลัมน์ " + res.error.column + ": " : "Line " + res.error.line + ", column " + res.error.column + ": ") : "";
          var e = text(status, at + res.error.message, "bad"); e.id = "expr-error";
          if (res.error.caret) { var pre = document.createElement("pre"); pre.className = "caret"; pre.id = "expr-caret"; pre.textContent = res.error.caret; status.appendChild(pre); }
          count.textContent = "—"; size.textContent = "—"; bar.textContent = "";
          return;
        }
        if (res.failure) { text(status, res.failure, "bad"); return; }
        if (!res.valid) { status.textContent = ""; count.textContent = "—"; size.textContent = "—"; bar.textContent = ""; return; }
        var ok = text(status, lang === "th" ? "ถูกต้อง" : "Valid", "good");
        status.appendChild(document.createTextNode(" · " + (lang === "th" ? "วิธีประมวลผล" : "Path") + ": "));
        var p = document.createElement("strong"); p.id = "path"; p.textContent = res.path; status.appendChild(p);
        if (res.counts) {
          count.textContent = fmt(res.counts.count);
          size.textContent = fmt(res.counts.segment);
          // The bar is SVG the server built and escaped (removalBar).
          var doc = new DOMParser().parseFromString(res.bar, "image/svg+xml");
          bar.textContent = "";
          if (doc.documentElement && doc.documentElement.nodeName === "svg") { bar.appendChild(document.importNode(doc.documentElement, true)); }
        }
        void ok;
      })
      .catch(function () { /* keep the last result; the form still works */ });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(update, 250); }
  expr.addEventListener("input", schedule);
  purpose.addEventListener("change", update);
  channel.addEventListener("change", update);
})();
