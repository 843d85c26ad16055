// camwatch's service worker (issue 15), served from /sw.js so its scope covers the dashboard.
// The shell (the HTML page, the modules, styles, icons and map) is cached at install and
// answered network-first: online users always get the current release, offline users the
// cached one. API calls are never cached here: the fault queue page keeps its own last loaded
// page for the offline view (phone/queue.js), without the token.
const VERSION = "__VERSION__";
const CACHE = `camwatch-shell-${VERSION}`;
const SHELL = __SHELL__;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("camwatch-shell-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/metrics" || url.pathname === "/healthz") return;
  const navigation = req.mode === "navigate";
  event.respondWith(fetch(req).then((res) => {
    if (res.ok && (navigation || url.pathname.startsWith("/static/"))) {
      const copy = res.clone();
      caches.open(CACHE).then((cache) => cache.put(navigation ? "/" : req, copy));
    }
    return res;
  }).catch(async () => {
    const cache = await caches.open(CACHE);
    const hit = navigation ? await cache.match("/") : (await cache.match(req)) || (await cache.match(req, { ignoreSearch: true }));
    return hit || Response.error();
  }));
});
