/* Embedding map: canvas scatter plot (no inline script or style: the CSP forbids them).
 * Points: one binary download per projection (map/points/, revalidated by ETag, so a reload or
 * another filter costs a 304). Highlights: bit masks from map/mask/ (JSON, base64). Colour by:
 * one small value per point from map/colours/ (JSON, base64 uint8 codes or uint16 steps,
 * row-aligned with the points), fetched only when the "Colour by" field changes.
 * Binary layout (little-endian): "CMAP", uint32 version, uint32 count, uint32 scale,
 * uint32 ids[count], uint16 x[count], uint16 y[count].
 * Pointer: a press that moves at most CLICK_SLOP pixels (over its whole path, so a closed lasso
 * that ends where it began is still a drag) is a click: it opens the nearest point's sample in
 * the browser's modal (?sample=ID, with the filter). Anything longer is a box or a lasso that
 * becomes a box:/lasso: filter, or, when it encloses no area, nothing at all. Hover shows the
 * point's thumbnail and file name (server HTML, fetched once per sample after a short rest). */
(function () {
  "use strict";
  var canvas = document.getElementById("embedding-map");
  if (!canvas) return;
  var ctx = canvas.getContext("2d");
  var status = document.getElementById("map-status");
  var tooltip = document.getElementById("map-tooltip");
  var legend = document.getElementById("map-colour-legend");
  var colourSelect = document.getElementById("colour");
  var data = null, etag = "", filterMask = null, tagMask = null, colours = null, base = null;
  var cells = null, drag = null, hovered = -1, hoverTimer = 0, hoverHtml = {}, colourRequest = 0;
  var pad = 12, GRID = 128, CLICK_SLOP = 5, PICK_RADIUS = 8, MIN_LASSO_AREA = 64, HOVER_DELAY = 80;
  var MISSING_CODE = 255, MISSING_NUMBER = 65535;

  var COLOURS = { all: [197, 200, 212], rest: [217, 219, 227], match: [52, 86, 209], tag: [232, 89, 12], none: [228, 230, 236] };
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function bytes(b64) {
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function bits(b64, n) {
    if (!b64) return null;
    var raw = bytes(b64), out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = (raw[i >> 3] >> (i & 7)) & 1;
    return out;
  }
  function decode(buffer) {
    var view = new DataView(buffer);
    var magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
    if (magic !== "CMAP" || view.getUint32(4, true) !== 1) throw new Error("unknown map format");
    var n = view.getUint32(8, true), scale = view.getUint32(12, true);
    return {
      n: n, scale: scale,
      ids: new Uint32Array(buffer, 16, n),
      x: new Uint16Array(buffer, 16 + 4 * n, n),
      y: new Uint16Array(buffer, 16 + 6 * n, n)
    };
  }
  function toScreen(v) { return pad + (v / data.scale) * (canvas.width - 2 * pad); }
  function toData(px) { return Math.min(1, Math.max(0, (px - pad) / (canvas.width - 2 * pad))); }
  function mouse(event) {
    var r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * canvas.width / r.width, (event.clientY - r.top) * canvas.height / r.height];
  }

  /* ---- colours ---- */
  function hslToRgb(text) {
    var m = /hsl\(([\d.]+),\s*([\d.]+)%,\s*([\d.]+)%\)/.exec(text || "");
    if (!m) return COLOURS.rest;
    var h = +m[1] / 360, s = +m[2] / 100, l = +m[3] / 100;
    var q = l < 0.5 ? l * (1 + s) : l + s - l * s, p = 2 * l - q;
    function channel(t) {
      t = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
      var v = t < 1 / 6 ? p + (q - p) * 6 * t : t < 1 / 2 ? q : t < 2 / 3 ? p + (q - p) * (2 / 3 - t) * 6 : p;
      return Math.round(v * 255);
    }
    return [channel(h + 1 / 3), channel(h), channel(h - 1 / 3)];
  }
  function viridis(t) {
    var at = t * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(at)), f = at - i;
    return [0, 1, 2].map(function (c) { return Math.round(VIRIDIS[i][c] + (VIRIDIS[i + 1][c] - VIRIDIS[i][c]) * f); });
  }
  function decodeColours(payload) {
    var raw = bytes(payload.values);
    if (payload.kind === "number") {
      var lut = [];
      for (var k = 0; k < 256; k++) lut.push(viridis(k / 255));
      return { kind: "number", values: new Uint16Array(raw.buffer, 0, payload.count), lut: lut };
    }
    return { kind: "category", values: raw, palette: payload.categories.map(function (c) { return hslToRgb(c.colour); }) };
  }
  function colourOf(i) {
    var v = colours.values[i];
    if (colours.kind === "number") return v === MISSING_NUMBER ? COLOURS.none : colours.lut[v >> 8];
    return v === MISSING_CODE ? COLOURS.none : colours.palette[v] || COLOURS.rest;
  }
  function swatch(rgb) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg"), dot = document.createElementNS(ns, "circle");
    svg.setAttribute("width", "12"); svg.setAttribute("height", "12"); svg.setAttribute("aria-hidden", "true");
    dot.setAttribute("cx", "6"); dot.setAttribute("cy", "6"); dot.setAttribute("r", "5");
    dot.setAttribute("fill", "rgb(" + rgb.join(",") + ")");
    svg.appendChild(dot);
    return svg;
  }
  function legendItem(list, name, rgb, count) {
    var li = document.createElement("li");
    li.setAttribute("data-name", name); li.setAttribute("data-rgb", rgb.join(","));
    li.appendChild(swatch(rgb));
    li.appendChild(document.createTextNode(name + " (" + count.toLocaleString() + ")"));
    list.appendChild(li);
  }
  function number(v) { return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(5)); }
  function renderLegend(payload) {
    legend.textContent = "";
    legend.removeAttribute("data-field");
    if (!payload) return;
    legend.setAttribute("data-field", payload.field);
    var list = document.createElement("ul");
    if (payload.kind === "number") {
      if (payload.low === null) { legend.textContent = "No sample has a number under this key."; return; }
      var bar = document.createElement("canvas"), image;
      bar.width = 256; bar.height = 1; bar.setAttribute("aria-hidden", "true");
      image = bar.getContext("2d").createImageData(256, 1);
      for (var k = 0; k < 256; k++) { var c = viridis(k / 255); image.data.set([c[0], c[1], c[2], 255], 4 * k); }
      bar.getContext("2d").putImageData(image, 0, 0);
      var scale = document.createElement("p");
      scale.className = "scale";
      [payload.low, payload.high].forEach(function (v, i) {
        var span = document.createElement("span");
        span.className = i ? "high" : "low"; span.textContent = number(v);
        scale.appendChild(span);
      });
      legend.appendChild(bar); legend.appendChild(scale);
    } else {
      payload.categories.forEach(function (c) { legendItem(list, c.name, hslToRgb(c.colour), c.count); });
    }
    if (payload.missing) legendItem(list, "no value", COLOURS.none, payload.missing);
    if (list.childNodes.length) legend.appendChild(list);
  }
  function keepInUrl(field) {
    var url = new URL(window.location.href);
    if (field) url.searchParams.set("colour", field); else url.searchParams.delete("colour");
    window.history.replaceState(window.history.state, "", url.toString());
  }
  function loadColours() {
    var field = colourSelect ? colourSelect.value : "", token = ++colourRequest;
    keepInUrl(field);
    if (!data) return;  // finish() asks again once the points are in
    if (!field) {
      colours = null; renderLegend(null); canvas.setAttribute("data-colour", ""); base = null; draw();
      return;
    }
    legend.textContent = "Loading the colours…";
    fetch(canvas.dataset.coloursUrl + "&colour=" + encodeURIComponent(field), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (payload) {
        if (token !== colourRequest) return;  // a later choice won
        if (payload.error || !payload.ready) { legend.textContent = payload.error || payload.message; return; }
        if (payload.count !== data.n || (etag && payload.etag !== etag)) { load(); return; }  // the map changed
        colours = decodeColours(payload);
        renderLegend(payload);
        canvas.setAttribute("data-colour", field);
        base = null; draw();
      })
      .catch(function () { legend.textContent = "The colours could not be loaded: choose the field again."; });
  }
  if (colourSelect) colourSelect.addEventListener("change", loadColours);

  /* ---- painting: points into an ImageData once per mask or colour change ---- */
  function paint() {
    var w = canvas.width, h = canvas.height, image = ctx.createImageData(w, h), px = image.data;
    var n = data.n, size = n > 200000 ? 1 : n > 20000 ? 2 : n > 5000 ? 3 : 5;
    function put(i, colour) {
      var sx = Math.round(toScreen(data.x[i]) - size / 2), sy = Math.round(toScreen(data.y[i]) - size / 2);
      for (var dy = 0; dy < size; dy++) for (var dx = 0; dx < size; dx++) {
        var xx = sx + dx, yy = sy + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        var o = 4 * (yy * w + xx);
        px[o] = colour[0]; px[o + 1] = colour[1]; px[o + 2] = colour[2]; px[o + 3] = 255;
      }
    }
    var i;
    if (filterMask) for (i = 0; i < n; i++) if (!filterMask[i]) put(i, COLOURS.rest);
    for (i = 0; i < n; i++) {
      if (filterMask && !filterMask[i]) continue;
      put(i, colours ? colourOf(i) : filterMask ? COLOURS.match : COLOURS.all);
    }
    if (tagMask) for (i = 0; i < n; i++) if (tagMask[i]) put(i, COLOURS.tag);
    base = image;
  }
  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!data) return;
    if (!base) paint();
    ctx.putImageData(base, 0, 0);
    if (hovered >= 0 && !drag) {
      ctx.strokeStyle = "#1d1d20"; ctx.lineWidth = 2; ctx.beginPath();
      ctx.arc(toScreen(data.x[hovered]), toScreen(data.y[hovered]), 6, 0, 2 * Math.PI); ctx.stroke();
      ctx.lineWidth = 1;
    }
    if (drag && drag.far > CLICK_SLOP) {
      ctx.strokeStyle = "#1d1d20"; ctx.setLineDash([4, 3]); ctx.beginPath();
      if (drag.lasso) {
        ctx.moveTo(drag.points[0][0], drag.points[0][1]);
        drag.points.forEach(function (p) { ctx.lineTo(p[0], p[1]); });
        ctx.closePath();
      } else {
        var a = drag.points[0], b = drag.last;
        ctx.rect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
      }
      ctx.stroke(); ctx.setLineDash([]);
    }
  }

  /* ---- picking: a grid over the map, so hover and click stay fast at 1M points ---- */
  function cellOf(v) { return Math.min(GRID - 1, Math.floor(v * GRID / (data.scale + 1))); }
  function index() {
    var n = data.n, start = new Uint32Array(GRID * GRID + 1), order = new Uint32Array(n), cell = new Uint32Array(n), i;
    for (i = 0; i < n; i++) { cell[i] = cellOf(data.y[i]) * GRID + cellOf(data.x[i]); start[cell[i] + 1]++; }
    for (i = 0; i < GRID * GRID; i++) start[i + 1] += start[i];
    var fill = start.slice(0, GRID * GRID);
    for (i = 0; i < n; i++) order[fill[cell[i]]++] = i;
    cells = { start: start, order: order };
  }
  function nearest(p) {
    var reach = PICK_RADIUS / (canvas.width - 2 * pad) * data.scale;
    var dx0 = toData(p[0]) * data.scale, dy0 = toData(p[1]) * data.scale;
    var x0 = cellOf(Math.max(0, dx0 - reach)), x1 = cellOf(dx0 + reach);
    var y0 = cellOf(Math.max(0, dy0 - reach)), y1 = cellOf(dy0 + reach);
    var best = -1, bestD = PICK_RADIUS * PICK_RADIUS;
    for (var cy = y0; cy <= y1; cy++) for (var cx = x0; cx <= x1; cx++) {
      var c = cy * GRID + cx;
      for (var k = cells.start[c]; k < cells.start[c + 1]; k++) {
        var i = cells.order[k], ex = toScreen(data.x[i]) - p[0], ey = toScreen(data.y[i]) - p[1], d = ex * ex + ey * ey;
        if (d <= bestD) { bestD = d; best = i; }
      }
    }
    return best;
  }

  /* ---- hover tooltip ---- */
  function hideTooltip() {
    clearTimeout(hoverTimer);
    tooltip.hidden = true; tooltip.removeAttribute("data-sample");
    if (hovered >= 0) { hovered = -1; draw(); }
  }
  function showTooltip(i, event) {
    var id = String(data.ids[i]), plot = canvas.parentNode.getBoundingClientRect();
    tooltip.setAttribute("data-sample", id);
    tooltip.style.left = Math.min(event.clientX - plot.left + 14, plot.width - 190) + "px";
    tooltip.style.top = Math.max(0, event.clientY - plot.top + 14) + "px";
    tooltip.hidden = false;
    if (hoverHtml[id] !== undefined) { tooltip.innerHTML = hoverHtml[id]; return; }
    tooltip.textContent = "…";
    fetch(canvas.dataset.hoverUrl.replace(/\/0\/hover\/$/, "/" + id + "/hover/"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        hoverHtml[id] = html;
        if (tooltip.getAttribute("data-sample") === id) tooltip.innerHTML = html;
      });
  }
  function hover(event) {
    clearTimeout(hoverTimer);
    hoverTimer = setTimeout(function () {
      if (!data || drag) return;
      var i = nearest(mouse(event));
      if (i < 0) { hideTooltip(); return; }
      if (i !== hovered) { hovered = i; draw(); }
      showTooltip(i, event);
    }, HOVER_DELAY);
  }

  /* ---- click, box and lasso ---- */
  function openSample(p) {
    var i = nearest(p);
    if (i < 0) return;
    var query = canvas.dataset.filterQuery;
    window.location.href = canvas.dataset.browserUrl + "?" + (query ? query + "&" : "") + "sample=" + data.ids[i];
  }
  function round(v) { return toData(v).toFixed(4).replace(/\.?0+$/, "") || "0"; }
  function polygonArea(points) {
    var area = 0;
    for (var i = 0, j = points.length - 1; i < points.length; j = i++) area += (points[j][0] + points[i][0]) * (points[j][1] - points[i][1]);
    return Math.abs(area / 2);
  }
  function selection(d) {
    var key, value;
    if (d.lasso) {
      var step = Math.ceil(d.points.length / 60), seen = {}, kept = [];
      d.points.forEach(function (p, i) {
        if (i % step) return;
        var text = round(p[0]) + "," + round(p[1]);
        if (!seen[text]) { seen[text] = true; kept.push(text); }
      });
      if (kept.length < 3 || polygonArea(d.points) < MIN_LASSO_AREA) return "";
      key = "lasso:" + canvas.dataset.space; value = kept.join(",");
    } else {
      var a = d.points[0], b = d.last;
      if (Math.abs(b[0] - a[0]) < 2 || Math.abs(b[1] - a[1]) < 2) return "";
      key = "box:" + canvas.dataset.space;
      value = [round(Math.min(a[0], b[0])), round(Math.min(a[1], b[1])), round(Math.max(a[0], b[0])), round(Math.max(a[1], b[1]))].join(",");
    }
    var query = canvas.dataset.filterQuery;
    return canvas.dataset.browserUrl + "?" + (query ? query + "&" : "") + encodeURIComponent(key) + "=" + value;
  }
  function lassoMode() {
    var checked = document.querySelector('input[name="select-mode"]:checked');
    return !!checked && checked.value === "lasso";
  }
  function track(p) {
    var s = drag.points[0];
    drag.far = Math.max(drag.far, Math.abs(p[0] - s[0]) + Math.abs(p[1] - s[1]));
    drag.last = p;
    if (drag.lasso) drag.points.push(p);
  }
  canvas.addEventListener("pointerdown", function (event) {
    if (!data || event.button !== 0) return;
    if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
    var p = mouse(event);
    drag = { lasso: lassoMode() !== event.shiftKey, points: [p], last: p, far: 0 };
    hideTooltip();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drag) { hover(event); return; }
    track(mouse(event));
    if (drag.far > CLICK_SLOP) draw();
  });
  canvas.addEventListener("pointerup", function (event) {
    if (!drag) return;
    track(mouse(event));
    var d = drag;
    drag = null;
    if (d.far <= CLICK_SLOP) { draw(); openSample(d.points[0]); return; }
    var url = selection(d);
    draw();
    if (url) window.location.href = url;
    else status.textContent = d.lasso ? "That lasso encloses no area: draw a loop around the points." : "That box is too thin: drag across the points.";
  });
  canvas.addEventListener("pointercancel", function () { drag = null; draw(); });
  canvas.addEventListener("pointerleave", function () { if (!drag) hideTooltip(); });
  canvas.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drag) { drag = null; draw(); status.textContent = "Selection cancelled."; }
  });

  /* ---- loading ---- */
  function notReady(payload) {
    status.textContent = payload.error || payload.message || "Computing the map…";
    if (!payload.error && !payload.missing) setTimeout(load, 2000);
  }
  function loadMasks() {
    if (!canvas.dataset.maskUrl) { finish({}); return; }
    fetch(canvas.dataset.maskUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (payload) {
        if (!payload.ready) { notReady(payload); return; }
        if (payload.count !== data.n) { load(); return; }  // the map changed meanwhile
        finish(payload);
      })
      .catch(function () { status.textContent = "The map could not be loaded: reload the page."; });
  }
  function finish(payload) {
    filterMask = bits(payload.filter_mask, data.n);
    tagMask = bits(payload.tag_mask, data.n);
    base = null;
    status.textContent = data.n.toLocaleString() + " points" +
      (filterMask ? ", " + (payload.matching || 0).toLocaleString() + " matching the filter" : "") +
      (payload.error ? " (" + payload.error + ")" : "");
    canvas.dataset.ready = "true";
    draw();
    if (colourSelect && colourSelect.value && canvas.getAttribute("data-colour") !== colourSelect.value) loadColours();
  }
  function load() {
    fetch(canvas.dataset.pointsUrl, { credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === 0) return response.json().then(notReady);
        etag = response.headers.get("ETag") || "";
        return response.arrayBuffer().then(function (buffer) {
          data = decode(buffer);
          colours = null;
          canvas.removeAttribute("data-colour");
          index();
          loadMasks();
        });
      })
      .catch(function () { status.textContent = "The map could not be loaded: reload the page."; });
  }
  load();
})();
