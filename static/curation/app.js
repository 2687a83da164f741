/* The few lines htmx cannot do, kept out of the pages so that the Content-Security-Policy can
   forbid inline scripts, inline style attributes and eval:
   - shift-click a sample checkbox to check the whole range since the last one clicked;
   - <select data-autosubmit> submits its form on change (the form works without it too);
   - a form with data-change-trigger gets the htmx event "fieldchange" when any field but a
     .manual one changes (instead of an eval'd hx-trigger filter), and never loses input: a
     response to a request sent before the user changed a field again is dropped and the form
     asks again with what it holds now;
   - a history push of the URL already shown is a replace (Back goes to the previous filter);
   - data-height / data-width (percent) size bars, on load and in every htmx swap. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("pick")) return;
    var all = Array.prototype.slice.call(document.querySelectorAll("input.pick"));
    var last = window.curationLastPick;
    if (event.shiftKey && last && all.indexOf(last) >= 0) {
      var a = all.indexOf(last), b = all.indexOf(box);
      all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (el) { el.checked = box.checked; });
    }
    window.curationLastPick = box;
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field || !field.form) return;
    if (field.hasAttribute("data-autosubmit")) {
      field.form.submit();
      return;
    }
    var form = field.form;
    if (form.hasAttribute("data-change-trigger") && !field.classList.contains("manual") && window.htmx) {
      if (form.hasAttribute("data-htmx-ready")) {
        window.htmx.trigger(form, "fieldchange");
      } else {
        // swapped in but not yet wired by htmx (its settle step): ask once it is; should
        // htmx:load never come for it, wire it here (htmx.process is idempotent) and ask
        form.setAttribute("data-change-pending", "");
        window.setTimeout(function () {
          if (!form.hasAttribute("data-change-pending") || !document.contains(form)) return;
          window.htmx.process(form);
          markReady(form);
        }, 300);
      }
    }
  });

  // htmx:load follows htmx's processing of new content (the page, or a swapped-in form): from
  // then on the form listens for fieldchange; a change made before that is sent now.
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (!root || !root.querySelectorAll) return;
    var forms = Array.prototype.slice.call(root.querySelectorAll("form[data-change-trigger]"));
    if (isChangeForm(root)) forms.push(root);
    forms.forEach(markReady);
  });

  // the form is wired by htmx: changes go straight to it from now on, and a pending one goes now
  function markReady(form) {
    form.setAttribute("data-htmx-ready", "");
    if (form.hasAttribute("data-change-pending")) {
      form.removeAttribute("data-change-pending");
      window.htmx.trigger(form, "fieldchange");
    }
  }

  function formState(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function isChangeForm(elt) {
    return elt && elt.hasAttribute && elt.hasAttribute("data-change-trigger");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (isChangeForm(form)) form.setAttribute("data-sent-state", formState(form));
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (!isChangeForm(form) || !form.hasAttribute("data-sent-state")) return;
    if (form.getAttribute("data-sent-state") !== formState(form)) {
      event.detail.shouldSwap = false;  // stale: the user typed since; ask with today's values
      window.htmx.trigger(form, "fieldchange");
    }
  });

  // A push of the URL the page already shows (the filter's change event after its input event
  // sent the same filter) replaces it instead: one Back always goes to the previous filter.
  document.addEventListener("htmx:beforeHistoryUpdate", function (event) {
    var update = event.detail.history;
    if (!update || update.type !== "push" || !update.path) return;
    var next = new URL(update.path, window.location.href);
    if (next.pathname + next.search === window.location.pathname + window.location.search) {
      update.type = "replace";
    }
  });

  function sizeBars(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var bars = Array.prototype.slice.call(scope.querySelectorAll("[data-height], [data-width]"));
    if (scope.hasAttribute && (scope.hasAttribute("data-height") || scope.hasAttribute("data-width"))) {
      bars.push(scope);
    }
    bars.forEach(function (el) {
      if (el.hasAttribute("data-height")) el.style.height = el.getAttribute("data-height") + "%";
      if (el.hasAttribute("data-width")) el.style.width = el.getAttribute("data-width") + "%";
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(sizeBars);
  } else {
    document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
  }
})();
