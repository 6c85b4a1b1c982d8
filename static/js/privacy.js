// The export confirmation (customers/export_confirm.html): a download leaves the page as it is,
// so once the form is sent, say that the file is coming and that the download is logged.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.downloadNotice) return;
  const notice = document.getElementById(form.dataset.downloadNotice);
  if (notice) notice.classList.remove("d-none");
});
