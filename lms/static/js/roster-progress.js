// The roster import's progress bar: asks the server how far the import has got, once a second, and
// reloads the page when it is done (the page works without this: its "Check again" link).
(function () {
  "use strict";
  var box = document.querySelector("[data-roster-progress]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-roster-progress-text]");
  var url = box.getAttribute("data-roster-progress");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        if (s.state !== "previewing" && s.state !== "applying") { window.location.reload(); return; }
        bar.max = Math.max(s.total, s.done, 1);
        bar.value = s.done;
        text.textContent = s.done + " of about " + s.total + " rows read.";
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
})();
