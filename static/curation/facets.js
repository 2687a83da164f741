/* Facet panels of the sample browser's sidebar (curation.browse.views_facets). A panel sends
   the filter form's fields with its request; when the user changed the form while the answer
   was on its way, the answer is dropped (it would uncheck what was just checked) and the panel
   asks again with what the form holds now. Everything else is htmx attributes. */
(function () {
  "use strict";

  function formState() {
    var form = document.getElementById("filter-form");
    return form ? new URLSearchParams(new FormData(form)).toString() : "";
  }

  function isPanel(elt) {
    return elt && elt.classList && elt.classList.contains("facet-panel");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var panel = event.detail.elt;
    if (isPanel(panel)) panel.setAttribute("data-sent-state", formState());
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var panel = event.detail.elt;
    if (!isPanel(panel) || !panel.hasAttribute("data-sent-state")) return;
    if (panel.getAttribute("data-sent-state") !== formState()) {
      event.detail.shouldSwap = false;
      window.htmx.trigger(panel, "facet-retry");
    }
  });
})();
