(function () {
  "use strict";
  var dataEl = document.getElementById("viewer-data");
  var svg = document.getElementById("viewer-detail");
  if (!dataEl || !svg) { return; }
  var D = JSON.parse(dataEl.textContent);
  var NS = "http://www.w3.org/2000/svg";
  var W = 960, H = 240, L = 62, R = 12, T = 12, B = 30;
  var PW = W - L - R, PH = H - T - B;
  var duration = Math.max(D.duration_s, 1);
  var state = {t0: D.initial_s, len: D.initial_length_s};
  var windowRect = document.getElementById("viewer-window");
  var overview = document.getElementById("viewer-overview");
  var rangeLabel = document.getElementById("viewer-range");
  var lengthSelect = document.getElementById("viewer-length");

  // one y range for the whole recording, so the axis does not jump while panning
  var all = [];
  D.segments.forEach(function (s) {
    for (var i = 0; i < s.mg.length; i += Math.max(1, Math.floor(s.mg.length / 5000))) {
      all.push(s.mg[i]);
    }
  });
  all.sort(function (a, b) { return a - b; });
  var yLo = all.length ? all[Math.floor(all.length * 0.001)] : 0;
  var yHi = all.length ? all[Math.floor(all.length * 0.999)] : 1000;
  var pad = (yHi - yLo) * 0.08 + 20;
  yLo -= pad; yHi += pad;

  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    svg.appendChild(e);
    return e;
  }
  function clock(s) {
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var ss = (sec < 10 ? "0" : "") + sec;
    return h ? h + ":" + (m < 10 ? "0" : "") + m + ":" + ss : m + ":" + ss;
  }
  function xOf(t) { return L + PW * (t - state.t0) / state.len; }
  function yOf(mg) { return T + PH * (1 - (Math.min(Math.max(mg, yLo), yHi) - yLo) / (yHi - yLo)); }
  function tickStep(span, px) {
    var steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * px / span >= 70) { return steps[i]; } }
    return span;
  }

  function draw() {
    state.len = Math.min(Math.max(state.len, 2), duration);
    state.t0 = Math.min(Math.max(state.t0, 0), duration - state.len);
    var t1 = state.t0 + state.len;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    el("rect", {"class": "plot-bg", x: L, y: T, width: PW, height: PH});
    D.flags.forEach(function (f) {
      if (f.end_s < state.t0 || f.start_s > t1) { return; }
      var a = xOf(Math.max(f.start_s, state.t0)), b = xOf(Math.min(f.end_s, t1));
      el("rect", {"class": "flag", "data-rule": f.rule, x: a, y: T, width: Math.max(b - a, 1),
                  height: PH});
    });
    var yStep = tickStep(yHi - yLo, PH * 2.2) ;
    yStep = Math.max(100, Math.round(yStep / 100) * 100);
    for (var v = Math.ceil(yLo / yStep) * yStep; v <= yHi; v += yStep) {
      el("line", {"class": "grid", x1: L, x2: L + PW, y1: yOf(v), y2: yOf(v)});
      el("text", {"class": "tick", x: L - 6, y: yOf(v) + 4, "text-anchor": "end"},
         (v / 1000).toFixed(1));
    }
    var xStep = tickStep(state.len, PW);
    for (var t = Math.ceil(state.t0 / xStep) * xStep; t <= t1 + 1e-9; t += xStep) {
      el("line", {"class": "grid", x1: xOf(t), x2: xOf(t), y1: T, y2: T + PH});
      el("text", {"class": "tick", x: xOf(t), y: H - 10, "text-anchor": "middle"}, clock(t));
    }
    el("text", {"class": "axis-label", x: 14, y: T + PH / 2, "text-anchor": "middle",
                transform: "rotate(-90 14 " + (T + PH / 2) + ")"}, "vertical acc. (g)");
    var traces = 0;
    D.segments.forEach(function (s) {
      var end = s.t0 + s.dt * (s.mg.length - 1);
      if (end < state.t0 || s.t0 > t1) { return; }
      var i0 = Math.max(0, Math.floor((state.t0 - s.t0) / s.dt));
      var i1 = Math.min(s.mg.length - 1, Math.ceil((t1 - s.t0) / s.dt));
      var stride = Math.max(1, Math.floor((i1 - i0) / (PW * 2)));
      var d = [];
      for (var i = i0; i <= i1; i += stride) {
        d.push((d.length ? "L" : "M") + xOf(s.t0 + i * s.dt).toFixed(1) + " " +
               yOf(s.mg[i]).toFixed(1));
      }
      if (d.length > 1) {
        el("path", {"class": "trace", d: d.join(""), "data-t0": (s.t0 + i0 * s.dt).toFixed(3),
                    "data-t1": (s.t0 + i1 * s.dt).toFixed(3)});
        traces += 1;
      }
    });
    D.gaps.forEach(function (g) {
      if (g.end_s < state.t0 || g.start_s > t1) { return; }
      var a = xOf(Math.max(g.start_s, state.t0)), b = xOf(Math.min(g.end_s, t1));
      el("rect", {"class": "gap", x: a, y: T, width: Math.max(b - a, 1), height: PH,
                  "data-start": g.start_s, "data-end": g.end_s});
      el("text", {"class": "gap-label", x: (a + b) / 2, y: T + 16, "text-anchor": "middle"},
         "no data");
    });
    if (state.len <= 60) {
      D.contacts.forEach(function (c) {
        if (c[0] < state.t0 || c[0] > t1) { return; }
        var color = D.colors[c[1]] || "#888";
        el("line", {"class": "ic", x1: xOf(c[0]), x2: xOf(c[0]), y1: T + 12, y2: T + PH,
                    stroke: color, "data-t": c[0]});
        el("text", {"class": "side", x: xOf(c[0]), y: T + 10, "text-anchor": "middle",
                    fill: color}, c[1]);
      });
    }
    svg.setAttribute("data-t0", state.t0.toFixed(3));
    svg.setAttribute("data-t1", t1.toFixed(3));
    svg.setAttribute("data-traces", String(traces));
    if (rangeLabel) { rangeLabel.textContent = clock(state.t0) + "–" + clock(t1); }
    if (windowRect && overview) {
      var vb = overview.viewBox.baseVal, left = 110, width = vb.width - left - 10;
      windowRect.setAttribute("x", left + width * state.t0 / duration);
      windowRect.setAttribute("width", Math.max(2, width * state.len / duration));
    }
  }

  function show(start, end) {
    var span = Math.max(end - start, 2);
    state.len = Math.min(duration, Math.max(span * 1.25, 10));
    state.t0 = start - (state.len - span) / 2;
    draw();
  }
  document.querySelectorAll("button[data-jump-start]").forEach(function (b) {
    b.addEventListener("click", function () {
      show(Number(b.getAttribute("data-jump-start")), Number(b.getAttribute("data-jump-end")));
    });
  });
  function pan(f) { state.t0 += f * state.len; draw(); }
  function zoom(f) {
    var c = state.t0 + state.len / 2;
    state.len = state.len * f;
    state.t0 = c - state.len / 2;
    draw();
  }
  var actions = {"viewer-back": function () { pan(-0.8); },
                 "viewer-forward": function () { pan(0.8); },
                 "viewer-zoom-in": function () { zoom(0.5); },
                 "viewer-zoom-out": function () { zoom(2); },
                 "viewer-all": function () { state.t0 = 0; state.len = duration; draw(); }};
  Object.keys(actions).forEach(function (id) {
    var b = document.getElementById(id);
    if (b) { b.addEventListener("click", actions[id]); }
  });
  if (lengthSelect) {
    lengthSelect.addEventListener("change", function () {
      var c = state.t0 + state.len / 2;
      state.len = Number(lengthSelect.value) || duration;
      state.t0 = c - state.len / 2;
      draw();
    });
  }
  if (overview) {
    overview.addEventListener("click", function (event) {
      var box = overview.getBoundingClientRect();
      var vb = overview.viewBox.baseVal, left = 110, width = vb.width - left - 10;
      var px = (event.clientX - box.left) * vb.width / box.width;
      state.t0 = (px - left) / width * duration - state.len / 2;
      draw();
    });
  }
  svg.addEventListener("wheel", function (event) {
    if (!event.ctrlKey) { return; }
    event.preventDefault();
    zoom(event.deltaY < 0 ? 0.8 : 1.25);
  }, {passive: false});
  draw();
})();
