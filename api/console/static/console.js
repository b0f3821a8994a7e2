// Nudge console: SLA countdowns. No inline scripts (the pages' CSP allows 'self' only).
(function () {
  function tick() {
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 1000);
      var late = left < 0, s = Math.abs(left);
      var text = Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
      el.textContent = late ? "SLA passed " + text + " ago" : "SLA " + text + " left";
      el.classList.toggle("late", late);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
