// The new-envelope form with JavaScript (tachiai/console/new_envelope.py): drag-and-drop, files sent
// straight to S3 through the draft's presigned POSTs, and signer rows added, removed and moved in the
// page. Without this script the form works as a plain multipart form. Served as a 'self' script: no
// inline script, no eval. Every text comes from the page (data-text-* attributes, from the catalog).
(function () {
  "use strict";

  var form = document.getElementById("envelope-form");
  if (!form || !window.fetch || !window.FormData || !window.DOMParser) {
    return;
  }
  var chosen = []; // the File objects to upload, in order (kept across a refused submission)

  function text(name, values) {
    var message = form.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      message = message.split("{" + key + "}").join(String(values[key]));
    });
    return message;
  }

  function status(message) {
    var place = document.getElementById("upload-status");
    if (place) {
      place.textContent = message;
    }
  }

  // --- the file's MD5 ------------------------------------------------------------------------------
  // The documents bucket keeps every file under Object Lock, and S3 takes no upload into such a bucket
  // without an integrity checksum: the presigned POST's policy requires the form field Content-MD5
  // (tachiai.names.UPLOAD_CHECKSUM_FIELD), the file's MD5 in base64, and S3 refuses the file when its
  // bytes do not match. Web Crypto has no MD5, hence RFC 1321 here (docs/operations/uploads.md).

  var MD5_K = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
  ];
  var MD5_SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

  function md5Digest(bytes) {
    // The 16-byte digest of a Uint8Array, as a binary string (one character per byte).
    var length = bytes.length;
    var words = new Uint32Array((((length + 8) >>> 6) + 1) * 16);
    for (var i = 0; i < length; i++) {
      words[i >>> 2] |= bytes[i] << ((i % 4) * 8);
    }
    words[length >>> 2] |= 0x80 << ((length % 4) * 8);
    words[words.length - 2] = (length * 8) >>> 0; // the length in bits, little-endian, 64 bits
    words[words.length - 1] = Math.floor(length / 0x20000000);
    var state = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476];
    for (var chunk = 0; chunk < words.length; chunk += 16) {
      var a = state[0], b = state[1], c = state[2], d = state[3];
      for (var j = 0; j < 64; j++) {
        var f, g;
        if (j < 16) {
          f = (b & c) | (~b & d);
          g = j;
        } else if (j < 32) {
          f = (d & b) | (~d & c);
          g = (5 * j + 1) % 16;
        } else if (j < 48) {
          f = b ^ c ^ d;
          g = (3 * j + 5) % 16;
        } else {
          f = c ^ (b | ~d);
          g = (7 * j) % 16;
        }
        var sum = (a + f + MD5_K[j] + words[chunk + g]) | 0;
        var shift = MD5_SHIFTS[(j >>> 4) * 4 + (j % 4)];
        a = d;
        d = c;
        c = b;
        b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
      }
      state = [(state[0] + a) | 0, (state[1] + b) | 0, (state[2] + c) | 0, (state[3] + d) | 0];
    }
    var digest = "";
    state.forEach(function (word) {
      for (var k = 0; k < 4; k++) {
        digest += String.fromCharCode((word >>> (k * 8)) & 0xff);
      }
    });
    return digest;
  }

  function contentMd5(file) {
    // A promise of the file's Content-MD5 (base64), read as a whole: it must be known before S3 gets
    // the file, whose field comes last in the form.
    var read = file.arrayBuffer
      ? file.arrayBuffer()
      : new Promise(function (resolve, reject) {
          var reader = new FileReader();
          reader.onload = function () {
            resolve(reader.result);
          };
          reader.onerror = reject;
          reader.readAsArrayBuffer(file);
        });
    return read.then(function (buffer) {
      return window.btoa(md5Digest(new Uint8Array(buffer)));
    });
  }

  // --- files ------------------------------------------------------------------------------------

  function isPdf(file) {
    return /\.pdf$/i.test(file.name) || file.type === "application/pdf";
  }

  function addFiles(list) {
    var limit = parseInt(form.getAttribute("data-direct-limit"), 10);
    var most = parseInt(form.getAttribute("data-max-documents"), 10);
    var refused = [];
    Array.prototype.forEach.call(list, function (file) {
      if (!isPdf(file)) {
        return; // preflight would refuse it too; a dropped image is most likely a slip
      }
      if (file.size > limit) {
        refused.push(text("too-large", { name: file.name }));
        return;
      }
      var known = chosen.some(function (f) {
        return f.name === file.name && f.size === file.size;
      });
      if (!known && chosen.length < most) {
        chosen.push(file);
      }
    });
    showFiles();
    status(refused.join(" "));
  }

  function showFiles(refusedNames) {
    var list = document.getElementById("file-list");
    if (!list) {
      return;
    }
    Array.prototype.slice.call(list.querySelectorAll("li:not(.refused)")).forEach(function (item) {
      list.removeChild(item);
    });
    chosen.forEach(function (file, index) {
      if (refusedNames && refusedNames.indexOf(file.name) >= 0) {
        return;
      }
      var item = document.createElement("li");
      item.className = "file";
      item.setAttribute("data-file", String(index));
      var name = document.createElement("span");
      name.className = "file-name";
      name.textContent = file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.hidden = true;
      bar.setAttribute("aria-label", file.name);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = text("remove-file");
      remove.addEventListener("click", function () {
        chosen.splice(index, 1);
        showFiles();
      });
      item.appendChild(name);
      item.appendChild(bar);
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function bindFiles() {
    Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (element) {
      element.hidden = false;
    });
    var input = document.getElementById("documents");
    var zone = document.getElementById("dropzone");
    if (!input || !zone) {
      return;
    }
    input.addEventListener("change", function () {
      addFiles(input.files);
      input.value = ""; // the files travel to S3, never in the form
    });
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer) {
        addFiles(event.dataTransfer.files);
      }
    });
  }

  // --- rows -------------------------------------------------------------------------------------

  function renumber() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#rows > li.row"));
    rows.forEach(function (row, index) {
      row.setAttribute("data-row", String(index));
      Array.prototype.forEach.call(row.querySelectorAll("[name],[id],[for],[aria-describedby]"), function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
          var value = el.getAttribute(attribute);
          if (value) {
            el.setAttribute(attribute, value.replace(/participants-\d+-/g, "participants-" + index + "-"));
          }
        });
      });
      var title = row.querySelector(".row-title");
      if (title && !row.querySelector("input[name$='-role']")) {
        title.textContent = text("row", { n: index + 1 });
      }
      Array.prototype.forEach.call(row.querySelectorAll(".row-actions button"), function (button) {
        var verb = button.value.split("-")[0];
        button.value = verb + "-" + index;
        button.disabled = (verb === "up" && index === 0) || (verb === "down" && index === rows.length - 1);
      });
    });
    var add = document.getElementById("add-row");
    if (add) {
      add.disabled = rows.length >= parseInt(form.getAttribute("data-max-rows"), 10);
    }
  }

  function blankRow(model) {
    var row = model.cloneNode(true);
    Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) {
      if (input.type === "hidden") {
        input.parentNode.removeChild(input);
      } else {
        input.value = "";
        input.removeAttribute("aria-invalid");
      }
    });
    Array.prototype.forEach.call(row.querySelectorAll(".field-error"), function (error) {
      error.parentNode.removeChild(error);
    });
    return row;
  }

  function rowAction(button) {
    var rows = document.getElementById("rows");
    var match = /^(add|remove|up|down)(?:-(\d+))?$/.exec(button.value || "");
    if (!rows || !match) {
      return false;
    }
    var all = rows.querySelectorAll("li.row");
    var row = match[2] !== undefined ? all[parseInt(match[2], 10)] : null;
    var focus = null;
    if (match[1] === "add" && all.length) {
      focus = rows.appendChild(blankRow(all[all.length - 1]));
    } else if (match[1] === "remove" && row) {
      if (all.length === 1) {
        rows.appendChild(blankRow(row));
      }
      rows.removeChild(row);
    } else if (match[1] === "up" && row && row.previousElementSibling) {
      rows.insertBefore(row, row.previousElementSibling);
      focus = row;
    } else if (match[1] === "down" && row && row.nextElementSibling) {
      rows.insertBefore(row.nextElementSibling, row);
      focus = row;
    }
    renumber();
    if (focus) {
      var first = focus.querySelector("input:not([type=hidden])");
      if (first) {
        first.focus();
      }
    }
    return true;
  }

  // --- sending --------------------------------------------------------------------------------------

  function fields(action) {
    var data = new FormData(form);
    data.delete("documents");
    data.set("action", action);
    return data;
  }

  function showPage(html) {
    // A refused form comes back as the whole page: its <main> replaces this one (parsed, never run).
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.querySelector("main");
    var here = document.querySelector("main");
    if (!main || !here) {
      return;
    }
    here.innerHTML = main.innerHTML;
    form = document.getElementById("envelope-form");
    var refusedNames = Array.prototype.map.call(here.querySelectorAll("#file-list li.refused .file-name"), function (el) {
      return el.textContent;
    });
    chosen = chosen.filter(function (file) {
      return refusedNames.indexOf(file.name) < 0;
    });
    bind();
    showFiles();
    var summary = document.getElementById("form-errors");
    if (summary) {
      summary.focus();
    }
  }

  function upload(file, target, item) {
    return contentMd5(file).then(function (checksum) {
      return send(file, target, item, checksum);
    });
  }

  function send(file, target, item, checksum) {
    var body = new FormData();
    Object.keys(target.fields).forEach(function (name) {
      body.append(name, target.fields[name]);
    });
    body.append("Content-MD5", checksum); // the policy requires it: Object Lock takes no file without
    body.append("file", file, file.name); // S3 reads every field before the file
    var bar = item ? item.querySelector("progress") : null;
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    status(text("uploading", { name: file.name, percent: 0 }));
    function done() {
      if (bar) {
        bar.value = 100;
      }
      status(text("uploaded", { name: file.name }));
    }
    // Whether the file arrived is what the server checks next (each upload is preflighted before
    // anything else), so the bucket's answer is not read here. The bucket allows the console's origin
    // to POST (its CORS rule), which lets the browser report the bytes sent as they go.
    return sendWithProgress(target.url, body, function (sent, total) {
      var percent = total ? Math.floor((sent * 100) / total) : 0;
      if (bar) {
        bar.value = percent;
      }
      status(text("uploading", { name: file.name, percent: percent }));
    })
      .catch(function () {
        // No CORS answer (a bucket or an origin the rule does not name): post blind, as before the
        // rule existed; the answer stays opaque and the progress indeterminate.
        if (bar) {
          bar.removeAttribute("value");
        }
        return fetch(target.url, { method: "POST", body: body, mode: "no-cors", credentials: "omit" });
      })
      .then(done);
  }

  function sendWithProgress(url, body, progress) {
    return new Promise(function (resolve, reject) {
      var request = new XMLHttpRequest();
      request.open("POST", url);
      request.withCredentials = false;
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          progress(event.loaded, event.total);
        }
      });
      request.addEventListener("load", function () {
        resolve(request.status);
      });
      request.addEventListener("error", reject); // refused by CORS, or the network failed
      request.addEventListener("abort", reject);
      request.send(body);
    });
  }

  function answer(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      return response.json().then(function (body) {
        return { json: body, status: response.status };
      });
    }
    return response.text().then(function (html) {
      return { html: html, status: response.status };
    });
  }

  function sendDirect(action, button) {
    var data = fields(action);
    data.set("upload", "presigned");
    chosen.forEach(function (file) {
      data.append("document_name", file.name);
      data.append("document_size", String(file.size));
    });
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) {
      b.disabled = true;
    });
    function fail() {
      Array.prototype.forEach.call(buttons, function (b) {
        b.disabled = false;
      });
      renumber();
      status(text("failed"));
    }
    // getAttribute, not form.action: the form's buttons are named "action", and a named control
    // shadows the form's property (form.action is then a RadioNodeList, posted to as "[object ...]").
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
      .then(answer)
      .then(function (first) {
        if (!first.json) {
          showPage(first.html);
          return null;
        }
        var created = first.json;
        var items = document.querySelectorAll("#file-list li.file:not(.refused)");
        var chain = Promise.resolve();
        created.uploads.forEach(function (target, index) {
          chain = chain.then(function () {
            return upload(chosen[index], target, items[index]);
          });
        });
        return chain
          .then(function () {
            status(text("checking"));
            var done = fields(action);
            done.set("envelope_id", created.envelope_id);
            return fetch(created.complete, { method: "POST", body: done, credentials: "same-origin" });
          })
          .then(answer)
          .then(function (last) {
            if (last.json && last.json.redirect) {
              window.location.assign(last.json.redirect);
            } else {
              showPage(last.html || "");
            }
          });
      })
      .catch(fail);
    if (button) {
      button.blur();
    }
  }

  // --- wiring ----------------------------------------------------------------------------------------

  function bind() {
    bindFiles();
    renumber();
    form.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button[name=action]") : null;
      if (button && /^(add|remove|up|down)/.test(button.value) && rowAction(button)) {
        event.preventDefault();
      }
    });
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var action = button && button.name === "action" ? button.value : "draft";
      // a new envelope's files, or those added to a draft (a template's documents are the template's)
      var direct = !form.querySelector("input[name=template_id]");
      if (direct && chosen.length && /^(draft|send|template)$/.test(action)) {
        event.preventDefault();
        sendDirect(action, button);
      }
    });
  }

  bind();
})();
