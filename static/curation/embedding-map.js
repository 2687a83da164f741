/* Embedding map: canvas scatter plot. The only hand-written JavaScript of Curation.
 * Click a point -> its sample page; drag -> box, shift-drag -> lasso -> browser filter URL. */
(function () {
  "use strict";
  var canvas = document.getElementById("embedding-map");
  if (!canvas) return;
  var ctx = canvas.getContext("2d");
  var status = document.getElementById("map-status");
  var data = null, filterMask = null, tagMask = null, pad = 12;
  var drag = null;

  function bits(b64, n) {
    if (!b64) return null;
    var raw = atob(b64), out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = (raw.charCodeAt(i >> 3) >> (i & 7)) & 1;
    return out;
  }
  function toScreen(v) { return pad + (v / data.scale) * (canvas.width - 2 * pad); }
  function toData(px) { return Math.min(1, Math.max(0, (px - pad) / (canvas.width - 2 * pad))); }
  function mouse(event) {
    var r = canvas.getBoundingClientRect();
    return [(event.clientX - r.left) * canvas.width / r.width, (event.clientY - r.top) * canvas.height / r.height];
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!data) return;
    var n = data.ids.length, size = n > 200000 ? 1 : n > 20000 ? 2 : 3;
    var layers = [["#c5c8d4", function () { return true; }]];
    if (filterMask) layers = [["#d9dbe3", function (i) { return !filterMask[i]; }], ["#3456d1", function (i) { return filterMask[i]; }]];
    if (tagMask) layers.push(["#e8590c", function (i) { return tagMask[i]; }]);
    layers.forEach(function (layer) {
      ctx.fillStyle = layer[0];
      for (var i = 0; i < n; i++) if (layer[1](i)) ctx.fillRect(toScreen(data.x[i]) - size / 2, toScreen(data.y[i]) - size / 2, size, size);
    });
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
    for (var i = 0; i < data.ids.length; i++) {
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

  function load() {
    fetch(canvas.dataset.pointsUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (payload) {
        if (!payload.ready) {
          status.textContent = payload.error || payload.message || "Computing the map…";
          if (!payload.error) setTimeout(load, 2000);
          return;
        }
        data = payload;
        filterMask = bits(payload.filter_mask, payload.ids.length);
        tagMask = bits(payload.tag_mask, payload.ids.length);
        var matching = 0;
        if (filterMask) for (var i = 0; i < filterMask.length; i++) matching += filterMask[i];
        status.textContent = payload.ids.length.toLocaleString() + " points" +
          (filterMask ? ", " + matching.toLocaleString() + " matching the filter" : "") +
          (payload.error ? " (" + payload.error + ")" : "");
        canvas.dataset.ready = "true";
        draw();
      })
      .catch(function () { status.textContent = "The map could not be loaded: reload the page."; });
  }
  load();
})();
