// A running job's page polls its progress (the URL is in data-progress-url) and reloads when it ends.
(function () {
  const holder = document.getElementById("job-progress-poll");
  if (!holder) return;
  const url = holder.getAttribute("data-progress-url");
  const bar = document.querySelector("#progress-bar > div");
  async function poll() {
    try {
      const r = await fetch(url, {headers: {"Accept": "application/json"}});
      if (r.ok) {
        const d = await r.json();
        bar.style.width = d.progress + "%";
        document.getElementById("progress-bar").setAttribute("aria-valuenow", d.progress);
        document.getElementById("progress-pct").textContent = d.progress + "%";
        document.getElementById("progress-message").textContent = d.message;
        const waiting = document.getElementById("job-waiting");
        if (waiting) {
          waiting.hidden = !d.waiting;
          if (d.waiting) waiting.firstChild.textContent = d.waiting + " ";
        }
        const badge = document.querySelector("#job-status .badge");
        badge.className = "badge job-" + d.status;
        badge.textContent = d.status_label;
        document.getElementById("job-log").textContent = d.log_tail || "(nothing yet)";
        if (d.finished) { window.location.reload(); return; }
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
