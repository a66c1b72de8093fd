/* Minqing offline outbox: reports kept in IndexedDB until the server has them.
 *
 * Works in a page and in the service worker (no DOM here). Each report carries one
 * idempotency key from the moment it is written, and every retry reuses it, so the
 * API creates the case exactly once however often the network drops. Photos are sent
 * one by one, each with its own key derived from the report's key.
 *
 * Record: {key, owner, created, payload, photos: [{name, blob, done}], reference, status, error}
 */
(function (scope) {
  "use strict";
  var DB_NAME = "minqing-outbox";
  var STORE = "reports";
  var LOCK = "minqing-outbox";
  var CASES_URL = "/api/v1/cases";
  var SESSION_URL = "/m/session.json";

  function RetryLater(message) { this.name = "RetryLater"; this.message = message; }
  RetryLater.prototype = Object.create(Error.prototype);
  function Refused(message) { this.name = "Refused"; this.message = message; }
  Refused.prototype = Object.create(Error.prototype);

  function uuid() {
    if (scope.crypto && scope.crypto.randomUUID) { return scope.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    scope.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  var dbPromise = null;
  function openDb() {
    if (!scope.indexedDB) { return Promise.reject(new Error("no IndexedDB")); }
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = scope.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "key" }); };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
        var request = work(tx.objectStore(STORE));
        if (request) { request.onsuccess = function () { result = request.result; }; }
      });
    });
  }

  function put(record) { return withStore("readwrite", function (s) { return s.put(record); }); }
  function get(key) { return withStore("readonly", function (s) { return s.get(key); }); }
  function remove(key) { return withStore("readwrite", function (s) { return s.delete(key); }); }
  function all() {
    return withStore("readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return (rows || []).sort(function (a, b) { return a.created - b.created; });
    });
  }

  function withLock(work) {
    var locks = scope.navigator && scope.navigator.locks;
    return locks ? locks.request(LOCK, work) : work();
  }

  function session() {
    return fetch(SESSION_URL, { credentials: "same-origin", cache: "no-store" }).then(
      function (response) {
        if (!response.ok) { throw new RetryLater("session " + response.status); }
        return response.json();
      },
      function () { throw new RetryLater("offline"); }
    );
  }

  function post(url, body, key, csrf) {
    var headers = { "Idempotency-Key": key, "X-CSRFToken": csrf, "Accept": "application/json" };
    if (typeof body === "string") { headers["Content-Type"] = "application/json"; }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body }).then(
      function (response) {
        if (response.ok) { return response.json(); }
        // Not our fault or not final: keep the report and try again later (same key).
        if (response.status >= 500 || [401, 403, 408, 409, 425, 429].indexOf(response.status) >= 0) {
          throw new RetryLater("HTTP " + response.status);
        }
        return response.json().catch(function () { return {}; }).then(function (data) {
          throw new Refused(data.detail || ("HTTP " + response.status));
        });
      },
      function () { throw new RetryLater("offline"); }
    );
  }

  /* Send one stored report: the case first (once), then each photo not yet sent. */
  function sendRecord(record, who) {
    if (record.owner && who.user && String(record.owner) !== String(who.user)) {
      throw new RetryLater("another account");
    }
    var chain = Promise.resolve();
    if (!record.reference) {
      chain = chain.then(function () {
        return post(CASES_URL, JSON.stringify(record.payload), record.key, who.csrf);
      }).then(function (data) {
        record.reference = data.reference;
        return put(record);
      });
    }
    (record.photos || []).forEach(function (photo, index) {
      chain = chain.then(function () {
        if (photo.done) { return null; }
        var form = new FormData();
        form.append("files", photo.blob, photo.name || ("photo-" + (index + 1) + ".jpg"));
        var url = CASES_URL + "/" + encodeURIComponent(record.reference) + "/attachments";
        return post(url, form, record.key + ":photo:" + index, who.csrf).then(function () {
          photo.done = true;
          return put(record);
        });
      });
    });
    return chain.then(function () { return remove(record.key); }).then(function () { return record; });
  }

  /* Try every pending report. notify(kind, record, error) hears 'sent', 'failed' and 'waiting'. */
  function flush(notify, onlyKey) {
    notify = notify || function () {};
    return withLock(function () {
      return all().then(function (records) {
        var pending = records.filter(function (r) { return r.status !== "failed" && (!onlyKey || r.key === onlyKey); });
        if (!pending.length) { return { sent: 0, waiting: 0 }; }
        return session().then(function (who) {
          if (!who.authenticated) { throw new RetryLater("login"); }
          var sent = 0;
          var step = Promise.resolve();
          pending.forEach(function (record) {
            step = step.then(function () {
              return get(record.key).then(function (fresh) {
                if (!fresh) { return null; }  // sent by another tab or the service worker meanwhile
                return sendRecord(fresh, who).then(function (done) {
                  sent += 1;
                  notify("sent", done);
                }, function (error) {
                  if (error instanceof Refused) {
                    fresh.status = "failed";
                    fresh.error = error.message;
                    return put(fresh).then(function () { notify("failed", fresh, error); });
                  }
                  throw error;
                });
              });
            });
          });
          return step.then(function () { return { sent: sent, waiting: 0 }; });
        }).catch(function (error) {
          if (!(error instanceof RetryLater)) { throw error; }
          return all().then(function (left) {
            var waiting = left.filter(function (r) { return r.status !== "failed"; });
            waiting.forEach(function (record) { notify("waiting", record, error); });
            return { sent: 0, waiting: waiting.length, reason: error.message };
          });
        });
      });
    });
  }

  scope.MinqingOutbox = {
    uuid: uuid,
    save: put,
    get: get,
    remove: remove,
    all: all,
    flush: flush,
    RetryLater: RetryLater,
    Refused: Refused
  };
})(self);
