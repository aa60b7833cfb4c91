// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  function due(el) {
    var s = (Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000;
    var a = Math.abs(s), t;
    if (a < 90) t = Math.floor(a) + " s";
    else if (a < 5400) t = Math.round(a / 60) + " min";
    else if (a < 172800) t = Math.round(a / 3600) + " h";
    else t = Math.round(a / 86400) + " d";
    el.textContent = s >= 0 ? "in " + t : t + " overdue";
  }
  function tick() { document.querySelectorAll("time[data-deadline]").forEach(due); }
  tick();
  setInterval(tick, 1000);
  if (!window.EventSource) return;
  var root = document.querySelector("a.brand").getAttribute("href").replace(/\/$/, "");
  var source = new EventSource(root + "/events");
  source.addEventListener("count", function (ev) {
    var total = JSON.parse(ev.data).total;
    var live = document.getElementById("live-count");
    live.hidden = false;
    live.textContent = total + " pending";
    var shown = document.getElementById("pending-total");
    if (shown && String(total) !== shown.getAttribute("data-total")) {
      document.getElementById("reload").hidden = false;
    }
  });
})();
