// The app shell's service worker (served, filled in, at /app/sw.js by services/web/__init__.py).
// Caches the shell so the app opens offline; never caches /v1 (the API's answers are per user and live).
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `fapiao-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((n) => n.startsWith("fapiao-shell-") && n !== CACHE).map((n) => caches.delete(n)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) {
    return; // the API and anything else: straight to the network
  }
  if (request.mode === "navigate") {
    // network first, so a deploy shows at once; the cached shell when offline
    event.respondWith(fetch(request).catch(() => caches.match("/app/", { cacheName: CACHE })));
    return;
  }
  event.respondWith(
    caches.match(request, { cacheName: CACHE, ignoreSearch: true }).then((hit) => hit || fetch(request)),
  );
});
