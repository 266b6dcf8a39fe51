// Shows the event's time in the reader's own timezone when it differs from the event's.
// The page works without it: the event's time and zone are always in the HTML.
(function () {
  "use strict";
  var time = document.querySelector("time.event-time");
  var out = document.querySelector(".local-time");
  if (!time || !out || !window.Intl) { return; }
  var reader = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!reader || reader === time.getAttribute("data-zone")) { return; }
  var options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
                  minute: "2-digit", timeZoneName: "short" };
  var start = new Date(time.getAttribute("datetime"));
  var text = start.toLocaleString(undefined, options);
  var end = time.getAttribute("data-end");
  if (end) { text += " \u2013 " + new Date(end).toLocaleString(undefined, options); }
  var zoneNow = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
    .formatToParts(start).filter(function (p) { return p.type === "timeZoneName"; });
  var eventZone = new Intl.DateTimeFormat(undefined, {
    timeZone: time.getAttribute("data-zone"), timeZoneName: "short" })
    .formatToParts(start).filter(function (p) { return p.type === "timeZoneName"; });
  if (zoneNow.length && eventZone.length && zoneNow[0].value === eventZone[0].value) { return; }
  out.textContent = "Your time: " + text + " (" + reader + ")";
  out.hidden = false;
}());
