// Header search: ↓ from the box moves into the results, ↑/↓ move between them, Esc closes.
(function () {
  const box = document.getElementById("header-search");
  const results = document.getElementById("header-search-results");
  if (!box || !results) return;
  const items = () => Array.from(results.querySelectorAll("a.search-result"));
  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && items().length) { e.preventDefault(); items()[0].focus(); }
    if (e.key === "Escape") { results.innerHTML = ""; }
  });
  results.addEventListener("keydown", (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i < list.length - 1) { e.preventDefault(); list[i + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? list[i - 1] : box).focus(); }
    if (e.key === "Escape") { results.innerHTML = ""; box.focus(); }
  });
  document.addEventListener("click", (e) => {
    if (!results.contains(e.target) && e.target !== box) results.innerHTML = "";
  });
})();
