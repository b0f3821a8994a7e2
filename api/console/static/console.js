// Nudge console: SLA countdowns and live updates. No inline scripts (the pages' CSP is 'self').
(function () {
  "use strict";

  function tick() {
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 1000);
      var late = left < 0, s = Math.abs(left);
      var text = s >= 3600
        ? Math.floor(s / 3600) + "h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m"
        : Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
      el.textContent = late ? "SLA passed " + text + " ago" : "SLA " + text + " left";
      el.classList.toggle("late", late);
    });
  }

  // Swap the region for the server's fresh rendering, keeping what the person is typing.
  function swap(region, html) {
    var kept = {}, focused = document.activeElement && document.activeElement.id;
    region.querySelectorAll("textarea[id], input[id]:not([type=hidden]), select[id]").forEach(function (el) {
      kept[el.id] = el.value;
    });
    region.innerHTML = html;
    Object.keys(kept).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && region.contains(el)) { el.value = kept[id]; }
    });
    if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    tick();
  }

  function live(region) {
    var busy = false, again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      fetch(region.dataset.live, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { window.location.assign("/console/sign-in"); return null; }
          if (r.status === 404 && region.dataset.gone) {
            var note = document.createElement("p");
            note.className = "alert";
            note.setAttribute("role", "alert");
            note.textContent = region.dataset.gone;
            region.replaceChildren(note);
            return null;
          }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null && html !== undefined) { swap(region, html); } })
        .catch(function () { again = true; })
        .finally(function () { busy = false; if (again) { again = false; refresh(); } });
    }
    var source = new EventSource("/console/events");
    source.addEventListener("change", function (event) {
      var data = {};
      try { data = JSON.parse(event.data); } catch (e) { data = { connected: true }; }
      var lead = region.dataset.lead, transcripts = data.transcripts || {};
      if (data.connected || data.handoffs_changed) { refresh(); return; }
      // A new message: the server sent the rendered transcript; no request needed.
      if (lead && transcripts[lead] !== undefined) {
        var list = document.getElementById("transcript");
        if (list && region.contains(list)) { list.innerHTML = transcripts[lead]; } else { refresh(); }
      }
    });
    source.addEventListener("signed-out", function () { source.close(); window.location.assign("/console/sign-in"); });
    document.documentElement.dataset.live = "connected";
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    var region = document.querySelector("[data-live]");
    if (region) { live(region); }
  });
})();
