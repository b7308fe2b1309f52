// A running import's page polls its progress (the URL is in data-progress-url) and reloads when it ends.
(function () {
  const holder = document.getElementById("import-progress-poll");
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
        for (const k of ["imported", "skipped", "refused"]) document.getElementById("count-" + k).textContent = d[k];
        const badge = document.querySelector("#import-status .badge");
        badge.className = "badge job-" + d.status;
        badge.textContent = d.status_label;
        if (d.finished) { window.location.reload(); return; }
      }
    } catch (e) { /* the next poll tries again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
