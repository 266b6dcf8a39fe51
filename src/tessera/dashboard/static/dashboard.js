// Sends the session's CSRF token with every htmx request (forms also carry it as a field).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector("meta[name=csrf-token]");
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
});
