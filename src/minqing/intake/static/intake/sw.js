/* Minqing service worker, scope /m/ (served by /m/sw.js, which prepends self.MINQING_SW and outbox.js).
 *
 * - Static files: cache first (the app shell is cached at install).
 * - Pages under /m/: network first; the last good copy is the fallback when offline.
 * - The API and every non-GET request pass straight through: nothing is cached and POSTs are never replayed
 *   from here except by the outbox, which reuses each report's idempotency key.
 * - Background sync "minqing-outbox" sends reports kept in IndexedDB.
 */
(function () {
  "use strict";
  var config = self.MINQING_SW || { version: "dev", shell: [], pages: [] };
  var SHELL_CACHE = "minqing-shell-" + config.version;
  var PAGE_CACHE = "minqing-pages";
  var SYNC_TAG = "minqing-outbox";

  self.addEventListener("install", function (event) {
    event.waitUntil(
      caches.open(SHELL_CACHE).then(function (cache) {
        return cache.addAll(config.shell).then(function () {
          return caches.open(PAGE_CACHE).then(function (pages) {
            return Promise.all(config.pages.map(function (url) {
              return fetch(url, { credentials: "same-origin" }).then(function (response) {
                return response.ok && !response.redirected ? pages.put(url, response) : null;
              }).catch(function () { return null; });
            }));
          });
        });
      }).then(function () { return self.skipWaiting(); })
    );
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("minqing-shell-") === 0 && name !== SHELL_CACHE;
        }).map(function (name) { return caches.delete(name); }));
      }).then(function () { return self.clients.claim(); })
    );
  });

  function cacheFirst(request) {
    return caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(SHELL_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
    });
  }

  function networkFirst(request) {
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic" && !response.redirected) {
        var copy = response.clone();
        caches.open(PAGE_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreSearch: true }).then(function (hit) {
        return hit || caches.match("/m/offline/");
      });
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) { return; }
    if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/m/session.json" || url.pathname === "/m/sw.js") { return; }
    if (url.pathname.indexOf("/static/") === 0) {
      event.respondWith(cacheFirst(request));
      return;
    }
    if (request.mode === "navigate" && url.pathname.indexOf("/m/") === 0) {
      event.respondWith(networkFirst(request));
    }
  });

  function tellClients(kind, record) {
    return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (clients) {
      var slim = { key: record.key, reference: record.reference };
      clients.forEach(function (client) { client.postMessage({ type: "outbox", kind: kind, record: slim }); });
    });
  }

  function flushOutbox() {
    if (!self.MinqingOutbox) { return Promise.resolve(); }
    return self.MinqingOutbox.flush(function (kind, record) {
      if (kind === "sent" || kind === "failed") { tellClients(kind, record); }
    }).then(function (result) {
      // Still waiting: reject so the browser schedules the sync again.
      if (result && result.waiting) { throw new Error("outbox still waiting: " + result.reason); }
    });
  }

  self.addEventListener("sync", function (event) {
    if (event.tag === SYNC_TAG) { event.waitUntil(flushOutbox()); }
  });

  self.addEventListener("message", function (event) {
    if (event.data && event.data.type === "flush") { event.waitUntil(flushOutbox().catch(function () {})); }
  });
})();
