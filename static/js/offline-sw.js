// The offline day view's service worker. Served at /sw.js (scope "/") by salon_crm/offline.py,
// which puts self.OFFLINE_CONFIG on the first line: the URLs of the day's list (manifest), the
// offline page, logout and the static files' prefix.
//
// What it keeps, in one cache per login ("salon-offline-<key>", the key an HMAC of the session
// that the page gives in its sync message): the day pages (Today, the calendar or My day), the
// cards of today's clients, the offline page, and the static files those pages link. Only GET
// answers 200 with HTML of exactly those URLs, never an API answer or the answer to a POST.
// A sync with another key deletes every other copy first; logging out deletes all of it (the
// page's script and the logout answer's Clear-Site-Data).
//
// Online, pages come from the network as always (a day page or card that passes is kept).
// Offline, a kept page is answered from the cache, any other page with the offline page, and any
// write (not GET) with 503 {"detail": "offline"}: nothing is queued to be sent later.
"use strict";

const CONFIG = self.OFFLINE_CONFIG || {};
const PREFIX = "salon-offline-";
const META = "/__offline__/manifest";  // the day's list, kept in the cache beside the pages
const STORED = "X-Offline-Stored";       // when a copy was made (ms), on every kept answer
const FRESH_MS = 5 * 60 * 1000;          // a copy younger than this is not fetched again
const PARALLEL = 3;                      // card fetches at once

let current = null;                      // {key, name}: the login a page of this worker named
let syncing = Promise.resolve();

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// ---- helpers -------------------------------------------------------------------------------

function pathOf(url) {
  const u = new URL(url, self.location.origin);
  return u.pathname + u.search;
}

function absolute(path) {
  return new URL(path, self.location.origin).href;
}

function isStatic(path) {
  return Boolean(CONFIG.static) && path.startsWith(CONFIG.static);
}

async function ourCaches() {
  return (await caches.keys()).filter(function (name) { return name.startsWith(PREFIX); });
}

// The cache of the login in use: the one named by a page, else the only one there is (after the
// worker was stopped and started again, offline, with no page to name it).
async function cacheForReading() {
  if (current) return caches.open(current.name);
  const names = await ourCaches();
  return names.length === 1 ? caches.open(names[0]) : null;
}

async function readManifest(cache) {
  const answer = cache && (await cache.match(absolute(META)));
  return answer ? answer.json() : null;
}

function listedGroup(manifest, path) {
  if (!manifest) return null;
  for (const group of manifest.pages) {
    if (group.indexOf(path) !== -1) return group;
  }
  if (manifest.cards.indexOf(path) !== -1 || path === manifest.offline) return [path];
  return null;
}

function isDayPage(manifest, path) {
  return manifest.pages.some(function (group) { return group.indexOf(path) !== -1; });
}

function storedAt(answer) {
  return answer ? Number(answer.headers.get(STORED) || 0) : 0;
}

async function isFresh(cache, path) {
  return Date.now() - storedAt(await cache.match(absolute(path), { ignoreVary: true })) < FRESH_MS;
}

function keepable(answer) {
  const type = answer.headers.get("Content-Type") || "";
  return answer.status === 200 && answer.type === "basic" && !answer.redirected && type.startsWith("text/html");
}

// The static files a page links (its CSS, scripts, icons), to be kept with it.
function staticLinks(html) {
  const found = new Set();
  const pattern = /\s(?:src|href)="([^"]+)"/g;
  let match;
  while ((match = pattern.exec(html))) {
    const path = pathOf(match[1].replace(/&amp;/g, "&"));
    if (isStatic(path)) found.add(path);
  }
  return found;
}

// Keep an HTML answer under every URL of its group. The copy is marked (data-offline-copy on
// <html>), so the page's script knows it is showing a copy and says so.
async function keep(cache, paths, answer) {
  if (!keepable(answer)) return new Set();
  const html = (await answer.text()).replace(/<html(\s|>)/, "<html data-offline-copy$1");
  const headers = new Headers(answer.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  headers.set(STORED, String(Date.now()));
  await Promise.all(paths.map(function (path) {
    return cache.put(absolute(path), new Response(html, { status: 200, statusText: "OK", headers: headers }));
  }));
  return staticLinks(html);
}

async function keepStatic(cache, paths) {
  for (const path of paths) {
    if (await cache.match(absolute(path))) continue;
    try {
      const answer = await fetch(path, { credentials: "same-origin" });
      if (answer.ok && answer.type === "basic") await cache.put(absolute(path), answer);
    } catch (error) {
      // offline again: what is kept stays
    }
  }
}

async function fetchAndKeep(cache, paths, headers) {
  try {
    const answer = await fetch(paths[0], { credentials: "same-origin", cache: "no-store", headers: headers || {} });
    return await keep(cache, paths, answer);
  } catch (error) {
    return new Set();
  }
}

// ---- the sync: after each online load of a day page -----------------------------------------

async function sync(key, pagePath) {
  const name = PREFIX + key;
  // Another login's copy goes first, whatever happens next.
  await Promise.all((await ourCaches()).filter(function (n) { return n !== name; }).map(function (n) {
    return caches.delete(n);
  }));
  current = { key: key, name: name };
  const cache = await caches.open(name);
  const known = await readManifest(cache);
  if (known && !isDayPage(known, pagePath)) {
    return { ok: true, skipped: true };  // not a day page: the copy stays as it is
  }
  const answer = await fetch(CONFIG.manifest, { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok || answer.redirected) return { ok: false };
  const manifest = await answer.json();
  if (manifest.key !== key) return { ok: false };  // the session changed meanwhile
  await cache.put(absolute(META), new Response(JSON.stringify(manifest), { headers: { "Content-Type": "application/json" } }));

  const wanted = new Set([absolute(META), absolute(manifest.offline)].concat(manifest.cards.map(absolute)));
  manifest.pages.forEach(function (g) { g.forEach(function (p) { wanted.add(absolute(p)); }); });
  // Cards of clients no longer on today's list go (a cancelled booking, yesterday's clients).
  for (const request of await cache.keys()) {
    if (!wanted.has(request.url) && !isStatic(pathOf(request.url))) await cache.delete(request);
  }

  const links = new Set();
  const add = function (found) { found.forEach(function (l) { links.add(l); }); };
  const jobs = [[manifest.offline]].concat(manifest.pages);
  for (const paths of jobs) {
    if (!(await isFresh(cache, paths[0]))) add(await fetchAndKeep(cache, paths));
  }
  const cards = [];
  for (const path of manifest.cards) {
    if (!(await isFresh(cache, path))) cards.push(path);
  }
  // Marked as the offline copy's fetch: the card is logged as kept offline, not as opened.
  const prefetch = {};
  prefetch[CONFIG.prefetchHeader] = "1";
  async function worker() {
    while (cards.length) add(await fetchAndKeep(cache, [cards.shift()], prefetch));
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  await keepStatic(cache, links);  // (pages kept earlier brought theirs then)
  return { ok: true, cards: manifest.cards.length, pages: manifest.pages.length };
}

self.addEventListener("message", function (event) {
  const data = event.data || {};
  const client = event.source;
  if (data.type === "sync" && typeof data.key === "string" && /^[0-9a-f]{16,64}$/.test(data.key)) {
    const run = syncing.then(function () { return sync(data.key, data.url || "/"); }).catch(function () {
      return { ok: false };
    });
    syncing = run;
    event.waitUntil(run.then(function (result) {
      if (client) client.postMessage(Object.assign({ type: "offline-ready" }, result));
    }));
  }
});

// ---- answering requests ---------------------------------------------------------------------

function offlineAnswer() {
  return new Response(JSON.stringify({ detail: "offline" }), {
    status: 503,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

async function fromCopy(path) {
  const cache = await cacheForReading();
  if (!cache) return null;
  const kept = await cache.match(absolute(path), { ignoreVary: true });
  if (kept) return kept;
  const manifest = await readManifest(cache);
  return manifest ? cache.match(absolute(manifest.offline), { ignoreVary: true }) : null;
}

async function navigate(event) {
  const path = pathOf(event.request.url);
  let answer;
  try {
    answer = await fetch(event.request);
  } catch (error) {
    return (await fromCopy(path)) || Response.error();
  }
  // A proxy in front of a server that is down: the copy is better than its error page.
  if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
    return (await fromCopy(path)) || answer;
  }
  if (current && keepable(answer)) {
    const copy = answer.clone();
    event.waitUntil((async function () {
      const cache = await caches.open(current.name);
      const group = listedGroup(await readManifest(cache), path);
      if (group) await keepStatic(cache, await keep(cache, group, copy));
    })());
  }
  return answer;
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  const path = pathOf(request.url);
  if (request.method !== "GET") {
    if (path === CONFIG.logout) return;  // logging out is never answered here
    event.respondWith(fetch(request).catch(offlineAnswer));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (isStatic(path)) {
    event.respondWith(fetch(request).catch(async function () {
      const cache = await cacheForReading();
      return (cache && (await cache.match(absolute(path)))) || Response.error();
    }));
  }
  // Anything else (htmx fragments, the API) goes to the network untouched, and fails offline.
});
