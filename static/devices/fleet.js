// Fleet page: "select all on this page" ticks every row's checkbox (the page works without it).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.matches("[data-select-all]")) return;
  const form = box.closest("form");
  for (const row of form.querySelectorAll('input[name="device"]')) row.checked = box.checked;
});
