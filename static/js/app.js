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
