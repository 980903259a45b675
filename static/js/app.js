// Small progressive enhancements; every page works without them.
document.addEventListener("submit", (event) => {
  // Forms that destroy or cost something ask first: <form data-confirm="...">.
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  // Close the user menu when clicking elsewhere.
  document.querySelectorAll("details.usermenu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// Pages that follow work in the background reload themselves: <div hidden data-reload-after="ms">.
// (Scripts live here, never inline: the Content-Security-Policy allows scripts from 'self' only.)
document.querySelectorAll("[data-reload-after]").forEach((node) => {
  setTimeout(() => location.reload(), Number(node.dataset.reloadAfter) || 2000);
});

// Export records: poll unfinished exports and show their progress; the link appears when the file is ready.
document.querySelectorAll("table[data-export-poll]").forEach((table) => {
  const label = table.dataset.downloadLabel;
  (function poll() {
    const rows = table.querySelectorAll("tr[data-state=pending], tr[data-state=running]");
    if (!rows.length) return;
    Promise.all([...rows].map((row) => fetch(row.dataset.statusUrl, {credentials: "same-origin"})
      .then((r) => r.json()).then((s) => {
        row.dataset.state = s.status;
        row.querySelector(".bar").style.width = s.progress + "%";
        row.querySelector(".state").textContent = s.status_label + " · " + s.rows_done + "/" + s.rows_total;
        if (s.download) {
          const link = document.createElement("a");
          link.className = "btn small primary";
          link.dataset.testid = "download";
          link.href = s.download;
          link.textContent = label;
          row.querySelector(".dl").replaceChildren(link);
        }
      }))).finally(() => setTimeout(poll, 1000));
  })();
});
