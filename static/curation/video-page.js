/* The video page's frame viewer (curation/videos/views.py), with no inline script or style (CSP).
   The page works without this file: the range input and the timeline marks are plain controls
   and links (?frame=N). This adds stepping in place:
   - the scrubber (a range over the stored frames) shows the frame it points at, with its index
     and timestamp; ← / → anywhere on the page step one stored frame, Home / End jump to the
     first / last (the scrubber itself handles the keys when it has focus);
   - a timeline mark shows its first frame instead of reloading the page;
   - ?frame= in the address follows the frame shown, so a reload or a copied link keeps it.
   The frames come from the page's JSON data block (#video-frames: ids, indexes, times). */
(function () {
  "use strict";

  function init() {
    var viewer = document.getElementById("video-viewer");
    var source = document.getElementById("video-frames");
    if (!viewer || !source) return;
    var data = JSON.parse(source.textContent);
    var count = data.ids.length;
    var range = document.getElementById("scrubber");
    var image = document.getElementById("frame-image");
    var indexOut = document.getElementById("frame-index");
    var timeOut = document.getElementById("frame-time");
    var positionOut = document.getElementById("frame-position");
    var sampleLink = document.getElementById("frame-sample-link");
    var imageUrl = viewer.getAttribute("data-image-url");
    var sampleUrl = viewer.getAttribute("data-sample-url");
    var name = viewer.getAttribute("data-video-name");
    var step = parseInt(viewer.getAttribute("data-frame-step"), 10) || 1;
    var cursors = document.querySelectorAll(".timeline-cursor");
    var current = parseInt(range.value, 10) || 0;

    function url(template, id) { return template.replace("{id}", String(id)); }

    function show(position) {
      position = Math.max(0, Math.min(count - 1, position));
      current = position;
      var id = data.ids[position];
      var index = data.indexes[position];
      var seconds = Number(data.times[position]).toFixed(3);
      range.value = String(position);
      range.setAttribute("aria-valuetext", "frame " + index + ", " + seconds + " s");
      image.src = url(imageUrl, id);
      image.alt = "Frame " + index + " of " + name;
      indexOut.textContent = String(index);
      timeOut.textContent = seconds;
      positionOut.textContent = String(position + 1);
      sampleLink.href = url(sampleUrl, id);
      for (var i = 0; i < cursors.length; i++) {
        cursors[i].setAttribute("x1", String(index + step / 2));
        cursors[i].setAttribute("x2", String(index + step / 2));
      }
      var address = new URL(window.location.href);
      address.searchParams.set("frame", String(index));
      window.history.replaceState(window.history.state, "", address.toString());
      if (position + 1 < count) new Image().src = url(imageUrl, data.ids[position + 1]);
    }

    range.addEventListener("input", function () { show(parseInt(range.value, 10) || 0); });
    document.getElementById("frame-prev").addEventListener("click", function () { show(current - 1); });
    document.getElementById("frame-next").addEventListener("click", function () { show(current + 1); });

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      var target = event.target;
      if (target === range) return; // the range steps itself and fires "input"
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
      var moves = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: count - 1 };
      if (!Object.prototype.hasOwnProperty.call(moves, event.key)) return;
      event.preventDefault();
      show(moves[event.key]);
    });

    var marks = document.querySelectorAll(".timeline-mark");
    for (var m = 0; m < marks.length; m++) {
      marks[m].addEventListener("click", function (event) {
        event.preventDefault();
        show(parseInt(this.getAttribute("data-position"), 10) || 0);
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
