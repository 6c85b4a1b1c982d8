// Dialogs and messages on every page (loaded by base.html; the CSP allows no inline script, so the
// markup states its intent in data attributes):
//   data-dialog-url="/…"      a button or link: open that URL's dialog fragment in the shared modal
//                             (#dialog: a Bootstrap modal with a backdrop that closes on Esc; made
//                             here on pages that do not include appointments/includes/dialog.html)
//   <form data-focus="#id">   inside a dialog: where the keyboard starts when it opens
//   data-pick-customer        a row of a dialog's client lookup: picking it fills the form
//   data-add-row="#table"     a button: show the next hidden row of that table ([data-item-row])
//   data-override-box         shown only while the form's #safety-box holds warnings
//   <dialog data-modal>       swapped into #modal-root: opened modal (backdrop, Esc closes it)
// Server answers steer it through HX-Trigger: "closeDialog", "showMessage" (the toast, a polite
// live region that is always in the page), "calendarChanged" (pages refresh their parts).
(function () {
  "use strict";
  if (!window.htmx || !window.bootstrap) return;

  // ---- the toast -------------------------------------------------------------------------------
  function toastBox() {
    let box = document.getElementById("flash");
    if (!box) {
      box = document.createElement("div");
      box.id = "flash";
      document.body.appendChild(box);
    }
    // A live region that is present (and not display:none) before its text changes is announced.
    box.className = "flash-toast alert alert-success position-fixed bottom-0 end-0 m-3 shadow";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.setAttribute("aria-atomic", "true");
    return box;
  }
  const flash = toastBox();
  function showMessage(text) {
    flash.textContent = text;  // the tick before it is CSS (app.css), not part of what is read
    clearTimeout(flash._timer);
    flash._timer = setTimeout(function () { flash.textContent = ""; }, 8000);
  }
  document.body.addEventListener("showMessage", function (event) {
    const value = event.detail && event.detail.value !== undefined ? event.detail.value : event.detail;
    if (value) showMessage(String(value));
  });

  // ---- the shared modal ------------------------------------------------------------------------
  function dialogEl() {
    let el = document.getElementById("dialog");
    if (!el) {
      el = document.createElement("div");
      el.className = "modal";
      el.id = "dialog";
      el.tabIndex = -1;
      el.setAttribute("aria-hidden", "true");
      el.setAttribute("aria-labelledby", "dialog-title");
      el.innerHTML = '<div class="modal-dialog modal-lg modal-dialog-scrollable"><div class="modal-content" id="dialog-content"></div></div>';
      document.body.appendChild(el);
      htmx.process(el);
    }
    if (!el._wired) wire(el);
    return el;
  }
  let opener = null;

  function focusStart(root) {
    const form = root.querySelector("form[data-focus]");
    let target = form ? root.querySelector(form.dataset.focus) : null;
    if (!target) target = root.querySelector("[autofocus]");
    if (target && !target.disabled && target.offsetParent !== null) target.focus();
  }

  function wire(el) {
    el._wired = true;
    el.addEventListener("shown.bs.modal", function () { focusStart(el); });
    // A closed dialog leaves nothing behind (no stale form answering to ids later). Cleared in
    // the next task: the modal has no fade, so "closeDialog" hides it synchronously while htmx
    // is still dispatching the response's other triggers ("showMessage") on the form inside it.
    el.addEventListener("hidden.bs.modal", function () {
      setTimeout(function () { document.getElementById("dialog-content").innerHTML = ""; });
      if (opener && document.body.contains(opener)) opener.focus();
      opener = null;
    });
  }

  function open(url) {
    const el = dialogEl();
    if (!el.classList.contains("show")) opener = document.activeElement;
    htmx.ajax("GET", url, { target: "#dialog-content" });
  }
  window.salonDialog = { open: open };
  if (document.getElementById("dialog")) dialogEl();

  document.addEventListener("click", function (event) {
    const trigger = event.target.closest && event.target.closest("[data-dialog-url]");
    if (!trigger) return;
    event.preventDefault();
    open(trigger.dataset.dialogUrl);
  });

  // Shown (and focused) once htmx has settled the new content: htmx wires the swapped-in
  // elements (hx-trigger listeners, such as the client lookup's "input") in its settle step,
  // after htmx:afterSwap, so a field focused on afterSwap could take keys that send nothing.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (target.id === "dialog-content") {
      const el = dialogEl();
      const modal = bootstrap.Modal.getOrCreateInstance(el);
      if (el.classList.contains("show")) focusStart(el);  // a re-rendered form (errors, warnings)
      else modal.show();
    }
    if (target.id === "modal-root") {
      const native = target.querySelector("dialog[data-modal]");
      if (native && !native.open) {
        opener = document.activeElement;
        native.addEventListener("close", function () {
          native.remove();
          if (opener && document.body.contains(opener)) opener.focus();
        });
        native.showModal();
        focusStart(native);
      }
    }
    if (target.id === "safety-box") overrideBox(target.closest("form"));
  });
  document.body.addEventListener("closeDialog", function () {
    const el = document.getElementById("dialog");
    if (el) bootstrap.Modal.getOrCreateInstance(el).hide();
    const native = document.querySelector("#modal-root dialog[open]");
    if (native) native.close();
  });

  // A dialog's form sends once: its submit buttons are disabled while its request is in flight
  // (a double click would otherwise book, adjust points or refund twice).
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.detail.elt;
    if (!form.matches || !form.matches("#dialog form, #modal-root form") || event.detail.requestConfig.verb === "get") return;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (!form.matches || !form.matches("#dialog form, #modal-root form")) return;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });

  // ---- inside a booking or walk-in form --------------------------------------------------------
  function overrideBox(form) {
    if (!form) return;
    const box = form.querySelector("[data-override-box]");
    const safety = form.querySelector("#safety-box");
    if (!box || !safety) return;
    const warned = !!safety.querySelector(".warning-banner");
    const input = box.querySelector("input");
    // Keep it open while it holds a reason or an error: the desk never loses what it typed.
    box.hidden = !(warned || (input && input.value) || box.querySelector(".text-danger"));
  }

  function pick(row) {
    const form = row.closest("form");
    form.querySelector("[name=customer]").value = row.dataset.pickCustomer;
    const badge = form.querySelector("[data-picked]");
    badge.textContent = row.dataset.label;
    badge.classList.remove("d-none");
    row.closest(".lookup-results").innerHTML = "";
    const lookup = form.querySelector("#client-lookup");
    if (lookup) lookup.value = "";
    form.querySelector("[name=customer]").dispatchEvent(new Event("change", { bubbles: true }));
    const next = form.querySelector("select[name$='service']");
    if (next) next.focus();
  }
  document.addEventListener("click", function (event) {
    const row = event.target.closest && event.target.closest("#dialog [data-pick-customer]");
    if (!row || !row.closest("form")) return;
    event.preventDefault();
    pick(row);
  });

  // Enter in the lookup: one match is picked; several: the first gets the focus (↑/↓ move);
  // none: what was typed becomes the new client's name (or phone) and the other field is next.
  // Never a submit of the whole booking. A result still on its way is waited for.
  function lookupEnter(input) {
    const form = input.closest("form");
    const results = form.querySelector(".lookup-results");
    const q = input.value.trim();
    if (!q) return;
    if (input.classList.contains("htmx-request") || results.dataset.q !== q) {
      input._enterPending = true;
      if (!input.classList.contains("htmx-request")) {
        // Typed faster than the lookup's delay: ask now.
        input._sentQ = q;
        const url = input.getAttribute("hx-get");
        htmx.ajax("GET", url + (url.indexOf("?") < 0 ? "?" : "&") + "lookup=" + encodeURIComponent(q), { target: results });
      }
      return;
    }
    const rows = results.querySelectorAll("[data-pick-customer]");
    if (rows.length === 1) { pick(rows[0]); return; }
    if (rows.length > 1) { rows[0].focus(); return; }
    const name = form.querySelector("[name=new_name]");
    const phone = form.querySelector("[name=new_phone]");
    if (!name || !phone) return;
    const isPhone = /^[+\d][\d\s-]{5,}$/.test(q);
    (isPhone ? phone : name).value = q;
    input.value = "";
    results.innerHTML = "";
    (isPhone ? name : phone).focus();
  }
  document.addEventListener("keydown", function (event) {
    const el = event.target;
    if (!el.matches) return;
    if (el.matches("#dialog form #client-lookup")) {
      const results = el.closest("form").querySelector(".lookup-results");
      if (event.key === "Enter") { event.preventDefault(); lookupEnter(el); }
      if (event.key === "ArrowDown" && results) {
        const first = results.querySelector("[data-pick-customer]");
        if (first) { event.preventDefault(); first.focus(); }
      }
      return;
    }
    if (el.matches("#dialog .lookup-results [data-pick-customer]") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const rows = Array.from(el.closest(".lookup-results").querySelectorAll("[data-pick-customer]"));
      const i = rows.indexOf(el);
      const next = event.key === "ArrowDown" ? rows[i + 1] : (i > 0 ? rows[i - 1] : el.closest("form").querySelector("#client-lookup"));
      if (next) next.focus();
    }
  });
  // The lookup's results answer one query: remember which, for Enter above.
  document.body.addEventListener("htmx:configRequest", function (event) {
    const el = event.detail.elt;
    if (el && el.id === "client-lookup") el._sentQ = el.value.trim();
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (!target.classList || !target.classList.contains("lookup-results") || !target.closest("#dialog")) return;
    const input = target.closest("form") && target.closest("form").querySelector("#client-lookup");
    if (!input) return;
    target.dataset.q = input._sentQ || "";
    if (input._enterPending && target.dataset.q === input.value.trim()) {
      input._enterPending = false;
      lookupEnter(input);
    }
  });

  // "Add a service": the next hidden row, its stylist taken from the row above.
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-add-row]");
    if (!button) return;
    const table = document.querySelector(button.dataset.addRow);
    if (!table) return;
    const rows = Array.from(table.querySelectorAll("[data-item-row]"));
    const next = rows.find(function (r) { return r.hidden; });
    if (!next) return;
    next.hidden = false;
    const previous = rows[rows.indexOf(next) - 1];
    const staff = next.querySelector("select[name$='staff']");
    const above = previous && previous.querySelector("select[name$='staff']");
    if (staff && above && !staff.value) staff.value = above.value;
    const service = next.querySelector("select[name$='service']");
    if (service) service.focus();
    if (!rows.some(function (r) { return r.hidden; })) button.hidden = true;
  });
})();
