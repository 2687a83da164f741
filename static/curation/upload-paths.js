// "New dataset": send each chosen image's relative path (sub-folders included) as one JSON
// list in the hidden file input named by data-paths-field, in the order the form submits the
// images. Browsers drop folders from uploaded file names; without this script (no JS) images
// keep their base names.
(function () {
  "use strict";
  function update(form) {
    const inputs = form.querySelectorAll("input[type=file][data-paths-field]");
    const byTarget = new Map();
    inputs.forEach(function (input) {
      const names = byTarget.get(input.dataset.pathsField) || [];
      Array.from(input.files || []).forEach(function (file) {
        names.push(file.webkitRelativePath || file.name);
      });
      byTarget.set(input.dataset.pathsField, names);
    });
    byTarget.forEach(function (names, id) {
      const target = document.getElementById(id);
      if (!target || typeof DataTransfer === "undefined") return;
      const transfer = new DataTransfer();
      const body = JSON.stringify(names);
      transfer.items.add(new File([body], "relative-paths.json", { type: "application/json" }));
      target.files = transfer.files;
    });
  }
  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.dataset.pathsField && input.form) {
      update(input.form);
    }
  });
})();
