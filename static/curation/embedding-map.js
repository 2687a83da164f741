/* Embedding map: canvas scatter plot. The only hand-written JavaScript of Curation.
 * Points: one binary download per projection (map/points/, revalidated by ETag, so a reload or
 * another filter costs a 304); highlights: bit masks from map/mask/ (JSON, base64).
 * Binary layout (little-endian): "CMAP", uint32 version, uint32 count, uint32 scale,
 * uint32 ids[count], uint16 x[count], uint16 y[count].
 * Click a point -> its sample page; drag -> box, shift-drag -> lasso -> browser filter URL. */
(function () {
  "use strict";
  var canvas = document.getElementById("embedding-map");
  if (!canvas) return;
  var ctx = canvas.getContext("2d");
  var status = document.getElementById("map-status");
  var data = null, filterMask = null, tagMask = null, pad = 12, base = null;
  var drag = null;

  var COLOURS = { all: [197, 200, 212], rest: [217, 219, 227], match: [52, 86, 209], tag: [232, 89, 12] };

  function bits(b64, n) {
    if (!b64) return null;
    var raw = atob(b64), out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = (raw.charCodeAt(i >> 3) >> (i & 7)) & 1;
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

  /* Points are painted into an ImageData once per mask change (fast at 1M points);
   * the drag outline is drawn on top. */
  function paint() {
    var w = canvas.width, h = canvas.height, image = ctx.createImageData(w, h), px = image.data;
    var n = data.n, size = n > 200000 ? 1 : n > 20000 ? 2 : 3;
    function layer(colour, keep) {
      for (var i = 0; i < n; i++) {
        if (!keep(i)) continue;
        var sx = Math.round(toScreen(data.x[i]) - size / 2), sy = Math.round(toScreen(data.y[i]) - size / 2);
        for (var dy = 0; dy < size; dy++) for (var dx = 0; dx < size; dx++) {
          var xx = sx + dx, yy = sy + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          var o = 4 * (yy * w + xx);
          px[o] = colour[0]; px[o + 1] = colour[1]; px[o + 2] = colour[2]; px[o + 3] = 255;
        }
      }
    }
    if (filterMask) {
      layer(COLOURS.rest, function (i) { return !filterMask[i]; });
      layer(COLOURS.match, function (i) { return filterMask[i]; });
    } else {
      layer(COLOURS.all, function () { return true; });
    }
    if (tagMask) layer(COLOURS.tag, function (i) { return tagMask[i]; });
    base = image;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!data) return;
    if (!base) paint();
    ctx.putImageData(base, 0, 0);
    if (drag && drag.points.length > 1) {
      ctx.strokeStyle = "#1d1d20"; ctx.setLineDash([4, 3]); ctx.beginPath();
      if (drag.lasso) {
        ctx.moveTo(drag.points[0][0], drag.points[0][1]);
        drag.points.forEach(function (p) { ctx.lineTo(p[0], p[1]); });
        ctx.closePath();
      } else {
        var a = drag.points[0], b = drag.points[drag.points.length - 1];
        ctx.rect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
      }
      ctx.stroke(); ctx.setLineDash([]);
    }
  }

  function nearest(px, py) {
    var best = -1, bestD = 64;
    for (var i = 0; i < data.n; i++) {
      var dx = toScreen(data.x[i]) - px, dy = toScreen(data.y[i]) - py, d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  function selectionUrl() {
    var r = function (v) { return toData(v).toFixed(4).replace(/\.?0+$/, ""); };
    var key, value;
    if (drag.lasso) {
      key = "lasso:" + canvas.dataset.space;
      value = drag.points.filter(function (_, i) { return i % Math.ceil(drag.points.length / 60) === 0; })
        .map(function (p) { return r(p[0]) + "," + r(p[1]); }).join(",");
    } else {
      var a = drag.points[0], b = drag.points[drag.points.length - 1];
      key = "box:" + canvas.dataset.space;
      value = [r(Math.min(a[0], b[0])), r(Math.min(a[1], b[1])), r(Math.max(a[0], b[0])), r(Math.max(a[1], b[1]))].join(",");
    }
    var query = canvas.dataset.filterQuery;
    return canvas.dataset.browserUrl + "?" + (query ? query + "&" : "") + encodeURIComponent(key) + "=" + value;
  }

  canvas.addEventListener("mousedown", function (event) {
    if (!data) return;
    drag = { lasso: event.shiftKey, points: [mouse(event)] };
  });
  canvas.addEventListener("mousemove", function (event) {
    if (!drag) return;
    drag.points.push(mouse(event));
    draw();
  });
  canvas.addEventListener("mouseup", function (event) {
    if (!drag) return;
    var start = drag.points[0], end = mouse(event);
    var moved = Math.abs(end[0] - start[0]) + Math.abs(end[1] - start[1]) > 6;
    if (moved && (!drag.lasso || drag.points.length > 3)) {
      window.location.href = selectionUrl();
    } else {
      var i = nearest(end[0], end[1]);
      if (i >= 0) window.location.href = canvas.dataset.sampleUrl.replace(/\/0\/$/, "/" + data.ids[i] + "/");
    }
    drag = null;
    draw();
  });

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
  }

  function load() {
    fetch(canvas.dataset.pointsUrl, { credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === 0) return response.json().then(notReady);
        return response.arrayBuffer().then(function (buffer) {
          data = decode(buffer);
          loadMasks();
        });
      })
      .catch(function () { status.textContent = "The map could not be loaded: reload the page."; });
  }
  load();
})();
