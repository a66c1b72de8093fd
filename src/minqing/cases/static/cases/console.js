// Staff console: let htmx swap refusals and form errors (4xx) so the server's message shows in place.
// The server sends HX-Retarget/HX-Reswap with these responses to point at the right form.
(function () {
  "use strict";
  var SWAP_STATUSES = [400, 403, 409, 422];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (SWAP_STATUSES.indexOf(event.detail.xhr.status) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
