/* The browser's sample modal (?sample=ID). htmx does all the fetching: the thumbnails and the
   modal's previous / next / close links carry hx-get and push the URL, so reload and Back keep
   the state. This file only adds what htmx cannot do, with no inline script or style (CSP):
   - keys while the modal is open: ← / → previous / next within the filter, Esc closes, t focuses
     the add-to-tag field, x checks the sample in the grid, ? shows the shortcuts;
   - the modal's "checked" box mirrors the sample's checkbox in the grid;
   - focus moves into the dialog when it opens and back to the thumbnail when it closes;
   - a click on the dimmed backdrop closes.
   The browser page has hx-history="false": Back and Forward fetch the URL again (the server
   renders grid, sidebar and modal from it) instead of restoring a DOM snapshot, whose style
   properties (the histogram bars) would come back as style attributes the CSP refuses. */
(function () {
  "use strict";

  var lastThumb = null;

  function modal() { return document.getElementById("sample-modal"); }

  function gridPick(id) {
    return document.querySelector('#grid input.pick[value="' + id + '"]');
  }

  function click(el) {
    if (!el) return;
    // Content swapped in a moment ago may not be initialised by htmx yet (it processes new
    // nodes after the swap): do it now, so the key never falls back to a full page load.
    if (window.htmx) window.htmx.process(el);
    el.click();
  }

  function syncPick(m) {
    var own = m.querySelector(".modal-pick");
    if (!own) return;
    var pick = gridPick(m.getAttribute("data-sample"));
    own.disabled = !pick;
    own.checked = !!(pick && pick.checked);
  }

  function toggleHelp(m) {
    var help = m.querySelector("#shortcuts");
    var button = m.querySelector("#modal-help");
    if (!help) return;
    help.hidden = !help.hidden;
    if (button) button.setAttribute("aria-expanded", String(!help.hidden));
  }

  function opened() {
    var m = modal();
    if (!m) {
      if (lastThumb && document.body.contains(lastThumb)) lastThumb.focus();
      return;
    }
    syncPick(m);
    var dialog = m.querySelector('[role="dialog"]');
    if (dialog && !dialog.contains(document.activeElement)) dialog.focus();
  }

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "INPUT") return el.type !== "checkbox" && el.type !== "radio";
    return el.tagName === "TEXTAREA" || el.tagName === "SELECT";
  }

  document.addEventListener("keydown", function (event) {
    var m = modal();
    if (!m || event.ctrlKey || event.metaKey || event.altKey) return;
    var typing = isTyping(event.target);
    if (event.key === "Escape") {
      event.preventDefault();
      if (typing) event.target.blur();
      else click(m.querySelector("#modal-close"));
      return;
    }
    if (typing) return;
    if (event.key === "ArrowLeft") click(m.querySelector("#modal-prev"));
    else if (event.key === "ArrowRight") click(m.querySelector("#modal-next"));
    else if (event.key === "t") {
      var name = m.querySelector('#sample-tags input[name="name"]');
      if (name) name.focus();
    } else if (event.key === "x") {
      var own = m.querySelector(".modal-pick");
      if (own && !own.disabled) own.click();
    } else if (event.key === "?") toggleHelp(m);
    else return;
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (!event.target || !event.target.classList.contains("modal-pick")) return;
    var pick = gridPick(event.target.value);
    if (pick) pick.checked = event.target.checked;
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    var m = modal();
    if (m && target === m) { click(m.querySelector("#modal-close")); return; }
    if (target && target.id === "modal-help" && m) { toggleHelp(m); return; }
    var thumb = target && target.closest ? target.closest("#grid .cell a") : null;
    if (thumb) lastThumb = thumb;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "modal-root") opened();
  });
  document.addEventListener("htmx:historyRestore", opened);
  document.addEventListener("DOMContentLoaded", opened);
})();
