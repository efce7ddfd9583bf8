// Small progressive enhancements; every page works without this file.
// No inline script anywhere: the Content-Security-Policy forbids it.
(function () {
  "use strict";

  function span(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    if (seconds < 60) return "less than a minute";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  // Keep "in 14 min" countdowns current between page loads (same wording as the server).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = (at - now) / 1000;
      el.textContent = seconds > 0 ? "in " + span(seconds) : "expired " + span(seconds) + " ago";
      el.classList.toggle("soon", seconds < 3600);
      el.classList.toggle("expired", seconds <= 0);
    });
  }

  // "Select all" in the queue's header ticks every row of the current page.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.hasAttribute("data-select-all")) return;
    var form = box.closest("form");
    if (!form) return;
    form.querySelectorAll('input[name="token_ids"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });

  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 15000);
})();
