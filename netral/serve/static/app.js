// Netral: small progressive enhancements. Every page works without this file; the CSP forbids
// inline script, so all behaviour lives here and is attached through data- attributes.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  onReady(function () {
    // Ask before irreversible actions (issuing a report, revoking a token, starting a long job).
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });

    // "Tidak ditindaklanjuti" and "Perlu keterangan" skip the confirm-only fields but still need a written reason.
    document.querySelectorAll("[data-needs-reason]").forEach(function (btn) {
      btn.addEventListener("click", function (ev) {
        var form = btn.form;
        var reason = form ? form.querySelector("textarea[name=reason]") : null;
        if (reason && reason.value.trim().length < (parseInt(reason.getAttribute("minlength"), 10) || 1)) {
          ev.preventDefault();
          reason.setCustomValidity("Tulis alasan terlebih dahulu.");
          reason.reportValidity();
          reason.addEventListener("input", function () { reason.setCustomValidity(""); }, { once: true });
        }
      });
    });

    document.querySelectorAll("[data-back]").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
      });
    });

    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { if (sel.form) { sel.form.submit(); } });
    });

    // Retraining progress: poll the job's JSON until it reaches a final state.
    document.querySelectorAll("[data-poll-job]").forEach(function (box) {
      var url = box.getAttribute("data-poll-job");
      var bar = box.querySelector("[data-job-progress]");
      var status = box.querySelector("[data-job-status]");
      var message = box.querySelector("[data-job-message]");
      function tick() {
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
          .then(function (job) {
            var pct = job.progress <= 1 ? job.progress * 100 : job.progress;
            if (bar) { bar.value = Math.round(pct * 10) / 10; }
            if (status) { status.textContent = job.status_label || job.status; }
            if (message) { message.textContent = job.message || ""; }
            if (job.done) { window.setTimeout(function () { window.location.reload(); }, 800); }
            else { window.setTimeout(tick, 2000); }
          })
          .catch(function () { window.setTimeout(tick, 5000); });
      }
      window.setTimeout(tick, 1000);
    });
  });
})();
