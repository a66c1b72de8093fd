/* The report form: two-level pickers, location, photos shrunk in the browser, and sending
 * through the offline outbox (IndexedDB) to POST /api/v1/cases with an Idempotency-Key. */
(function () {
  "use strict";

  function parse(el, name) {
    try { return JSON.parse(el.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  function option(value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    return o;
  }

  /* level-1 → level-2 (and township → village): rebuild the second list from the data attribute. */
  function linkPickers(first, second, groups, idKey, childKey, childId, placeholder) {
    if (!first || !second) { return; }
    var current = second.value;
    if (current && !first.value) {
      groups.forEach(function (g) {
        (g[childKey] || []).forEach(function (c) { if (String(c[childId]) === current) { first.value = String(g[idKey]); } });
      });
    }
    function rebuild() {
      var keep = second.value || current;
      second.textContent = "";
      second.appendChild(option("", placeholder));
      groups.forEach(function (g) {
        if (String(g[idKey]) !== first.value) { return; }
        (g[childKey] || []).forEach(function (c) { second.appendChild(option(c[childId], c.name)); });
      });
      second.value = keep;
      if (second.value !== keep) { second.value = ""; }
      second.disabled = !first.value;
      current = "";
    }
    first.addEventListener("change", rebuild);
    rebuild();
  }

  function setupLocation(form) {
    var button = form.querySelector("#use-location");
    var status = form.querySelector("#location-status");
    if (!button) { return; }
    if (!navigator.geolocation) { button.hidden = true; return; }
    button.addEventListener("click", function () {
      status.textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("#id_latitude").value = position.coords.latitude.toFixed(6);
        form.querySelector("#id_longitude").value = position.coords.longitude.toFixed(6);
        status.textContent = "已获取位置（" + position.coords.latitude.toFixed(4) + "，" + position.coords.longitude.toFixed(4) + "）";
      }, function () {
        status.textContent = "无法获取位置，请手动填写地址";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  function setStatus(form, text, kind) {
    var box = form.querySelector("#report-status");
    box.className = "status" + (kind ? " " + kind : "");
    box.textContent = text;
  }

  function titleFrom(title, content) {
    title = title.trim();
    if (title) { return title.slice(0, 120); }
    return content.split(/\s+/).join(" ").trim().slice(0, 20);
  }

  function numberOrNull(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function payloadOf(form) {
    var v = function (name) { var el = form.elements[name]; return el ? String(el.value || "") : ""; };
    var content = v("content").trim();
    var anonymous = form.elements.anonymous.checked;
    return {
      category_id: parseInt(v("category"), 10),
      title: titleFrom(v("title"), content),
      content: content,
      township: v("township") || null,
      village: v("village") || null,
      address: v("address").trim(),
      latitude: numberOrNull(v("latitude")),
      longitude: numberOrNull(v("longitude")),
      anonymous: anonymous,
      name: anonymous ? "" : v("name").trim()
    };
  }

  function check(form, payload) {
    if (!payload.category_id) { return ["id_category", "请选择诉求分类"]; }
    if (!payload.township) { return ["id_township", "请选择事发乡镇"]; }
    if (!payload.content) { return ["id_content", "请填写反映内容"]; }
    if (!payload.anonymous && !payload.name) { return ["id_name", "请填写姓名，或选择匿名"]; }
    return null;
  }

  function setupReport(form) {
    var photos = [];
    var busy = false;
    var input = form.querySelector("#id_photos");
    var submit = form.querySelector("#submit-report");
    var max = parseInt(input.getAttribute("data-max") || "9", 10);
    var photoStatus = form.querySelector("#photo-status");

    input.addEventListener("change", function () {
      if (input.files.length > max) { photoStatus.textContent = "最多 " + max + " 张，只取前 " + max + " 张"; }
      submit.disabled = true;
      photoStatus.textContent = "正在压缩照片…";
      MinqingApp.shrinkAll(input.files, max).then(function (shrunk) {
        photos = shrunk;
        MinqingApp.showPreviews(form.querySelector("#photo-previews"), photos);
        photoStatus.textContent = photos.length ? "已选择 " + photos.length + " 张照片（已压缩）" : "";
      }).catch(function () {
        photos = [];
        photoStatus.textContent = "有照片无法读取，请重新选择";
      }).then(function () { submit.disabled = false; });
    });

    var anonymous = form.querySelector("#id_anonymous");
    var nameField = form.querySelector("#name-field");
    function toggleName() { nameField.hidden = anonymous.checked; }
    anonymous.addEventListener("change", toggleName);
    toggleName();

    function done(record) {
      window.location.href = MinqingApp.receiptUrl(record.reference);
    }

    function savedOffline() {
      setStatus(form, "已保存，联网后自动提交。您可以关闭页面，下次打开时也会自动提交。", "saved");
      var result = document.getElementById("report-result");
      result.className = "card notice saved";
      result.textContent = "已保存，联网后自动提交";
      result.hidden = false;
      form.reset();
      photos = [];
      MinqingApp.showPreviews(form.querySelector("#photo-previews"), []);
      photoStatus.textContent = "";
      toggleName();
      MinqingApp.requestSync();
      MinqingApp.refreshOutbox();
    }

    document.addEventListener("minqing:outbox", function (event) {
      var detail = event.detail || {};
      if (detail.kind === "sent" && detail.record && detail.record.reference) {
        var result = document.getElementById("report-result");
        result.className = "card notice ok";
        result.innerHTML = "";
        result.appendChild(document.createTextNode("您保存的诉求已提交，编号 "));
        var ref = document.createElement("b");
        ref.className = "sent-reference";
        ref.textContent = detail.record.reference;
        result.appendChild(ref);
        var link = document.createElement("a");
        link.href = MinqingApp.receiptUrl(detail.record.reference);
        link.textContent = " 查看回执";
        result.appendChild(link);
        result.hidden = false;
        setStatus(form, "", "");
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      var payload = payloadOf(form);
      var problem = check(form, payload);
      if (problem) {
        setStatus(form, problem[1], "error");
        var field = form.querySelector("#" + problem[0]);
        if (field) { field.focus(); }
        return;
      }
      var record = {
        key: MinqingOutbox.uuid(),
        owner: form.getAttribute("data-owner") || "",
        created: Date.now(),
        payload: payload,
        photos: photos.map(function (p) { return { name: p.name, blob: p.blob, done: false }; }),
        reference: null,
        status: "pending"
      };
      var sentRecord = null;
      busy = true;
      submit.disabled = true;
      setStatus(form, "正在提交…", "sending");
      // Written to IndexedDB first: if the page dies mid-send, the report is still there.
      MinqingOutbox.save(record).then(function () {
        if (!navigator.onLine) { return { waiting: 1 }; }
        return MinqingOutbox.flush(function (kind, sent, error) {
          if (kind === "sent" && sent.key === record.key) { sentRecord = sent; }
          if (kind === "failed" && sent.key === record.key) {
            MinqingOutbox.remove(sent.key);
            setStatus(form, "提交未成功：" + (error && error.message), "error");
          }
        }, record.key);
      }, function () {
        setStatus(form, "无法在本机保存（浏览器不支持离线存储），请联网后再提交。", "error");
        return null;
      }).then(function (result) {
        if (!result) { return null; }
        return MinqingOutbox.get(record.key).then(function (left) {
          if (!left) {
            if (sentRecord) { done(sentRecord); }
            return null;
          }
          if (left.reference && left.photos.every(function (p) { return p.done; })) { return done(left); }
          savedOffline();
          return null;
        });
      }).catch(function () {
        savedOffline();
      }).then(function () {
        busy = false;
        submit.disabled = false;
      });
    });
  }

  var form = document.getElementById("report-form") || document.getElementById("informant-form");
  if (!form) { return; }
  linkPickers(form.querySelector("#id_level1"), form.querySelector("#id_category"), parse(form, "data-categories"),
    "id", "children", "id", "请选择小类");
  linkPickers(form.querySelector("#id_township"), form.querySelector("#id_village"), parse(form, "data-places"),
    "code", "villages", "code", "选择村（可不选）");
  setupLocation(form);
  if (form.id === "report-form") { setupReport(form); }
})();
