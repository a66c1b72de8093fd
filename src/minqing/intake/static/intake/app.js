/* Minqing mobile pages: service worker, network and outbox status, copy buttons, photo shrinking. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var body = document.body;
  var MAX_EDGE = 1600;
  var QUALITY = 0.8;
  var SYNC_TAG = "minqing-outbox";
  var PAGE_CACHE = "minqing-pages";

  function receiptUrl(reference) { return "/m/cases/" + encodeURIComponent(reference) + "/receipt/"; }

  /* --- Photos: shrink to at most 1600px on the long edge, JPEG quality 0.8 ------------------- */
  function loadImage(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return createImageBitmap(file); });
    }
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function shrink(file) {
    return loadImage(file).then(function (img) {
      var width = img.width, height = img.height;
      var scale = Math.min(1, MAX_EDGE / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      if (img.close) { img.close(); }
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) { return blob ? resolve(blob) : reject(new Error("encode failed")); }, "image/jpeg", QUALITY);
      });
    });
  }

  function baseName(name, index) {
    var stem = (name || "").replace(/\.[^.]*$/, "").replace(/[^\w\u4e00-\u9fff-]+/g, "_").slice(0, 60);
    return (stem || "photo-" + (index + 1)) + ".jpg";
  }

  /* Shrink the chosen files; returns [{name, blob}] (at most `max`). */
  function shrinkAll(files, max) {
    var list = Array.prototype.slice.call(files || [], 0, max);
    return Promise.all(list.map(function (file, index) {
      return shrink(file).then(function (blob) { return { name: baseName(file.name, index), blob: blob }; });
    }));
  }

  function showPreviews(container, photos) {
    if (!container) { return; }
    container.textContent = "";
    photos.forEach(function (photo) {
      var img = document.createElement("img");
      img.alt = photo.name;
      img.src = URL.createObjectURL(photo.blob);
      container.appendChild(img);
    });
  }

  /* Plain forms (add information, informant report): replace the chosen files by shrunk copies. */
  function enhancePlainPhotoForm(form) {
    var input = form.querySelector("input[type=file][name=photos]");
    if (!input || !window.DataTransfer) { return; }
    var submit = form.querySelector("button[type=submit]");
    var status = form.querySelector("#photo-status");
    var max = parseInt(input.getAttribute("data-max") || "9", 10);
    input.addEventListener("change", function () {
      if (input.dataset.shrunk === "1") { input.dataset.shrunk = ""; return; }
      if (!input.files.length) { return; }
      if (submit) { submit.disabled = true; }
      if (status) { status.textContent = "正在压缩照片…"; }
      shrinkAll(input.files, max).then(function (photos) {
        var transfer = new DataTransfer();
        photos.forEach(function (p) { transfer.items.add(new File([p.blob], p.name, { type: "image/jpeg" })); });
        input.dataset.shrunk = "1";
        input.files = transfer.files;
        showPreviews(form.querySelector("#photo-previews"), photos);
        if (status) { status.textContent = "已选择 " + photos.length + " 张照片"; }
      }).catch(function () {
        if (status) { status.textContent = "有照片无法读取，请重新选择"; }
      }).then(function () { if (submit) { submit.disabled = false; } });
    });
  }

  /* --- Network and outbox status ------------------------------------------------------------ */
  var netBox = document.getElementById("net-status");
  var outboxBox = document.getElementById("outbox-status");

  function showNet() { if (netBox) { netBox.hidden = navigator.onLine; } }

  function setOutbox(html, kind) {
    if (!outboxBox) { return; }
    outboxBox.className = "outbox" + (kind ? " " + kind : "");
    outboxBox.innerHTML = html;
    outboxBox.hidden = !html;
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function announce(kind, record, error) {
    document.dispatchEvent(new CustomEvent("minqing:outbox", { detail: { kind: kind, record: record, error: error } }));
    if (kind === "sent") {
      setOutbox("您保存的诉求已提交，编号 <b class=\"sent-reference\">" + escapeHtml(record.reference) +
        "</b>。<a href=\"" + receiptUrl(record.reference) + "\">查看回执</a>", "");
    }
    refreshOutbox(kind === "sent");
  }

  function refreshOutbox(keepMessage) {
    if (!window.MinqingOutbox) { return Promise.resolve(); }
    return MinqingOutbox.all().then(function (records) {
      var waiting = records.filter(function (r) { return r.status !== "failed"; });
      var failed = records.filter(function (r) { return r.status === "failed"; });
      if (failed.length) {
        var first = failed[0];
        setOutbox("有 " + failed.length + " 条保存的诉求未能提交：" + escapeHtml(first.error || "") +
          " <button type=\"button\" class=\"ghost small\" data-drop=\"" + escapeHtml(first.key) + "\">删除</button>", "failed");
      } else if (waiting.length) {
        setOutbox("有 " + waiting.length + " 条诉求已保存在手机里，联网后自动提交。", "pending");
      } else if (!keepMessage && outboxBox && outboxBox.classList.contains("pending")) {
        setOutbox("", "");
      }
      schedule(waiting.length > 0);
    }).catch(function () {});
  }

  var flushing = null;
  function flush() {
    if (!window.MinqingOutbox || flushing) { return flushing || Promise.resolve(); }
    flushing = MinqingOutbox.flush(announce).catch(function () {}).then(function (result) {
      flushing = null;
      return result;
    });
    return flushing;
  }

  var timer = null;
  function schedule(needed) {
    if (needed && !timer) {
      timer = setInterval(function () { if (navigator.onLine) { flush(); } }, 15000);
    } else if (!needed && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function requestSync() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) { return registration.sync.register(SYNC_TAG); }
      return null;
    }).catch(function () {});
  }

  if (outboxBox) {
    outboxBox.addEventListener("click", function (event) {
      var key = event.target.getAttribute && event.target.getAttribute("data-drop");
      if (key) { MinqingOutbox.remove(key).then(function () { setOutbox("", ""); refreshOutbox(); }); }
    });
  }

  window.addEventListener("online", function () { showNet(); flush(); });
  window.addEventListener("offline", showNet);
  showNet();

  /* --- Service worker ------------------------------------------------------------------------ */
  if ("serviceWorker" in navigator && body.dataset.sw) {
    navigator.serviceWorker.register(body.dataset.sw, { scope: "/m/" }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "outbox") { announce(data.kind, data.record || {}, null); }
    });
  }

  /* Logging out: pages cached for this account must not outlive the session. */
  Array.prototype.forEach.call(document.querySelectorAll("form.logout"), function (form) {
    form.addEventListener("submit", function () { if (window.caches) { caches.delete(PAGE_CACHE); } });
  });

  /* --- Copy buttons ---------------------------------------------------------------------------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    var done = function () { button.textContent = "已复制"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  });

  Array.prototype.forEach.call(document.querySelectorAll("form[data-shrink-photos]"), enhancePlainPhotoForm);

  window.MinqingApp = {
    shrinkAll: shrinkAll,
    showPreviews: showPreviews,
    flush: flush,
    refreshOutbox: refreshOutbox,
    requestSync: requestSync,
    receiptUrl: receiptUrl
  };

  refreshOutbox().then(function () { if (navigator.onLine) { flush(); } });
})();
