/* The browser's filmstrips (curation/videos/filmstrips.py): one strip per video of the result
   page. A strip's button (aria-expanded, aria-controls) hides or shows its frames; the choice is
   remembered per video in this browser (localStorage) and applied again to strips that htmx
   swaps in (a new filter, the next page). Without this file every strip stays open. */
(function () {
  "use strict";

  var KEY = "curation.filmstrip.collapsed.";

  function remembered(video) {
    try { return window.localStorage.getItem(KEY + video) === "1"; } catch (e) { return false; }
  }

  function remember(video, collapsed) {
    try {
      if (collapsed) window.localStorage.setItem(KEY + video, "1");
      else window.localStorage.removeItem(KEY + video);
    } catch (e) { /* storage refused: the state lasts until the next page */ }
  }

  function apply(button, collapsed) {
    var frames = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", collapsed ? "false" : "true");
    if (frames) frames.hidden = collapsed;
  }

  function restore(root) {
    var buttons = (root || document).querySelectorAll("button.filmstrip-toggle");
    for (var i = 0; i < buttons.length; i++) {
      apply(buttons[i], remembered(buttons[i].getAttribute("data-video")));
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.filmstrip-toggle");
    if (!button) return;
    var collapsed = button.getAttribute("aria-expanded") === "true";
    var video = button.getAttribute("data-video");
    remember(video, collapsed);
    // Every strip of this video (one per loaded page) follows.
    var same = document.querySelectorAll('button.filmstrip-toggle[data-video="' + video + '"]');
    for (var i = 0; i < same.length; i++) apply(same[i], collapsed);
  });

  document.addEventListener("htmx:afterSwap", function () { restore(document); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { restore(document); });
  else restore(document);
})();
