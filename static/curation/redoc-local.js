/* ReDoc's sidebar credit shows an <img> from cdn.redoc.ly (no option turns it off). Loaded before
   the ReDoc bundle, this points any image source outside this site at the site's own icon, so
   the docs page makes no request to another origin (the CSP would refuse it anyway). */
(function () {
  "use strict";
  var local = document.currentScript && document.currentScript.getAttribute("data-icon");
  function foreign(value) {
    try { return new URL(String(value), document.baseURI).origin !== window.location.origin; }
    catch (e) { return false; }
  }
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && foreign(value)) {
      value = local;
    }
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: function () { return src.get.call(this); },
    set: function (value) { src.set.call(this, foreign(value) ? local : value); }
  });
})();
