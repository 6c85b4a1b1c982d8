// The offline day view, in the page (the service worker is static/js/offline-sw.js):
//   <body data-offline-key data-offline-sw>   signed-in pages: register the worker and ask it to
//                                              keep today's pages and cards (each load of a day
//                                              page); <html data-offline-ready> once it has
//   <html data-offline-copy>                   set by the worker on a page read from its copy
//   #offline-banner                            shown while offline (its text comes translated
//                                              with the page)
//   [data-offline-clear]                       the login page: delete every copy, unregister
//   form[data-offline-logout]                  logging out deletes the copy before it posts
//   [data-offline-list]                        the offline page: lists what the copy holds
// Offline, every write is disabled (forms that post, htmx writes, the dialogs that lead to them)
// and enabled again when the connection is back; a page read from the copy is reloaded then.
// The logout form stays: offline it deletes this browser's copy at once.
(function () {
  "use strict";

  const PREFIX = "salon-offline-";
  const META = "/__offline__/manifest";
  const PROBE_MS = 15000;
  const root = document.documentElement;
  const body = document.body;
  const key = body.dataset.offlineKey || "";
  const workerUrl = body.dataset.offlineSw || "";
  const workers = "serviceWorker" in navigator && window.isSecureContext;
  const isCopy = root.hasAttribute("data-offline-copy");

  // ---- deleting the copy (login page, logout) ------------------------------------------------

  function clearAll() {
    const jobs = [];
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.startsWith(PREFIX); }).map(function (n) {
          return caches.delete(n);
        }));
      }));
    }
    if (workers) {
      jobs.push(navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (r) { return r.unregister(); }));
      }));
    }
    return Promise.all(jobs);
  }

  function within(ms, promise) {
    return Promise.race([promise, new Promise(function (resolve) { setTimeout(resolve, ms); })]);
  }

  if (document.querySelector("[data-offline-clear]")) clearAll();

  // ---- offline: the banner and no writes -------------------------------------------------------

  const banner = document.getElementById("offline-banner");
  // Forms that post, htmx writes, and the buttons that open a booking, walk-in or waitlist dialog.
  const WRITES = "form[method=post i]:not([data-offline-logout]), [hx-post], [hx-put], [hx-patch], [hx-delete], " +
    "[data-dialog-url], button[hx-target='#dialog-content'], button[hx-target='#modal-root']";
  const CONTROLS = "button, input, select, textarea, fieldset";
  let offline = false;
  let probing = false;
  let pendingLogout = null;  // a logout asked for offline: sent when the connection is back

  function disable(el) {
    if (el.matches(CONTROLS)) {
      if (el.disabled) return;
      el.disabled = true;
    } else {
      if (el.getAttribute("aria-disabled") === "true") return;
      el.setAttribute("aria-disabled", "true");
    }
    el.dataset.offlineDisabled = "";
  }

  function disableWrites(scope) {
    scope.querySelectorAll(WRITES).forEach(function (el) {
      if (el.matches("form")) {
        Array.prototype.forEach.call(el.elements, disable);
      } else {
        disable(el);
      }
    });
  }

  function enableWrites() {
    document.querySelectorAll("[data-offline-disabled]").forEach(function (el) {
      if (el.matches(CONTROLS)) el.disabled = false;
      else el.removeAttribute("aria-disabled");
      delete el.dataset.offlineDisabled;
    });
  }

  function setOffline(on) {
    if (!banner || on === offline) return;
    offline = on;
    root.classList.toggle("is-offline", on);
    banner.hidden = !on;
    if (on) {
      disableWrites(document);
      if (navigator.onLine) probe();
    } else {
      enableWrites();
    }
  }

  // "Online" is the browser's word, not the server's: the salon's line can be down while its
  // Wi-Fi is up, and the server can come back after the network does. So a small request (HEAD
  // of the worker's script, through the worker: 503 while the network is down) decides, tried
  // again after 1, 2, 4 ... 15 s while the browser says online (its "online" event restarts it).
  function probe() {
    if (probing || !workerUrl) return;
    probing = true;
    let wait = 1000;
    (function attempt() {
      fetch(workerUrl, { method: "HEAD", cache: "no-store" }).then(function (answer) {
        return answer.ok;
      }, function () {
        return false;
      }).then(function (reachable) {
        if (reachable) {
          probing = false;
          if (pendingLogout) pendingLogout.submit();
          else if (isCopy) window.location.reload();  // the copy may be old: show the day as it is now
          else setOffline(false);
        } else if (navigator.onLine) {
          setTimeout(attempt, wait);
          wait = Math.min(wait * 2, PROBE_MS);
        } else {
          probing = false;
        }
      });
    })();
  }

  if (banner) {
    window.addEventListener("offline", function () { setOffline(true); });
    window.addEventListener("online", function () { if (offline) probe(); });
    setOffline(isCopy || !navigator.onLine);

    // What is loaded while offline (a dialog, a fragment) gets the same treatment.
    document.addEventListener("htmx:afterSwap", function (event) {
      if (offline) disableWrites(event.target);
    });
    document.addEventListener("htmx:beforeRequest", function (event) {
      if (offline && event.detail.requestConfig && event.detail.requestConfig.verb !== "get") {
        event.preventDefault();
      }
    });
    document.addEventListener("htmx:sendError", function () { setOffline(true); });
    document.addEventListener("htmx:responseError", function (event) {
      const xhr = event.detail.xhr;
      if (xhr && xhr.status === 503 && /"detail":\s*"offline"/.test(xhr.responseText || "")) setOffline(true);
    });
    // Belt and braces: a write started by a script (an autosubmit select) or a click on a
    // disabled link, a dialog button or a free calendar slot does nothing offline.
    document.addEventListener("submit", function (event) {
      if (offline && event.target.matches(WRITES)) event.preventDefault();
    }, true);
    document.addEventListener("click", function (event) {
      if (offline && event.target.closest && event.target.closest("[data-offline-disabled], .cal-slot")) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
  }

  // ---- logging out: the copy goes first --------------------------------------------------------

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches || !form.matches("[data-offline-logout]") || form.dataset.offlineCleared) return;
    event.preventDefault();
    const leave = function () {
      form.dataset.offlineCleared = "1";
      if (offline) {
        // The server cannot hear the logout now: the copy is gone, the logout goes when it can.
        pendingLogout = form;
        const note = document.getElementById("offline-logged-out");
        if (note) note.hidden = false;
        if (banner) banner.hidden = true;
        if (navigator.onLine) probe();
        return;
      }
      form.submit();
    };
    within(3000, clearAll()).then(leave, leave);
  }, true);

  // ---- keeping the day: register the worker, ask it to sync --------------------------------

  function listen() {
    navigator.serviceWorker.addEventListener("message", function (event) {
      const data = event.data || {};
      if (data.type === "offline-ready") {
        root.dataset.offlineReady = data.ok ? "ok" : "failed";
        root.dispatchEvent(new CustomEvent("offline:ready", { detail: data }));
      }
    });
    navigator.serviceWorker.startMessages();
  }

  function sync() {
    navigator.serviceWorker.register(workerUrl, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      registration.active.postMessage({ type: "sync", key: key, url: window.location.pathname + window.location.search });
    }).catch(function () {
      root.dataset.offlineReady = "failed";
    });
  }

  if (key && workerUrl && workers) {
    listen();
    if (!isCopy && navigator.onLine) {
      if (document.readyState === "complete") sync();
      else window.addEventListener("load", sync);
    }
  }

  // ---- the offline page: what the copy holds -----------------------------------------------------

  const lists = document.querySelectorAll("[data-offline-list]");
  if (lists.length && key && window.caches) fillLists();

  function item(path, label) {
    const li = document.createElement("li");
    li.className = "list-group-item";
    const a = document.createElement("a");
    a.href = path;
    a.textContent = label;
    li.appendChild(a);
    return li;
  }

  function headingOf(html) {
    const doc = new DOMParser().parseFromString(html, "text/html");
    const h1 = doc.querySelector("h1");
    return h1 ? h1.textContent.trim() : "";
  }

  async function fillLists() {
    const cache = await caches.open(PREFIX + key);
    const meta = await cache.match(META);
    const manifest = meta ? await meta.json() : { pages: [], cards: [] };
    const found = { pages: [], cards: [] };
    for (const group of manifest.pages) {
      const kept = await cache.match(group[0], { ignoreVary: true });
      if (kept) found.pages.push(item(group[0], headingOf(await kept.text()) || group[0]));
    }
    for (const path of manifest.cards) {
      const kept = await cache.match(path, { ignoreVary: true });
      if (kept) found.cards.push(item(path, headingOf(await kept.text()) || path));
    }
    lists.forEach(function (list) {
      const entries = found[list.dataset.offlineList] || [];
      entries.forEach(function (li) { list.appendChild(li); });
      list.hidden = entries.length === 0;
    });
    const nothing = document.querySelector("[data-offline-nothing]");
    if (nothing) nothing.hidden = found.pages.length + found.cards.length > 0;
  }
})();
