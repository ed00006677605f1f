/* The office app's small helpers. Everything works without this file: the forms are ordinary forms.
   - the Scan page asks for progress every few seconds and updates the table without reloading;
   - files dropped onto the upload box are sent as if chosen with the button. */
(function () {
  "use strict";

  var OUTCOMES = {};  // state -> its words, from the page (data-outcomes), so both say the same

  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  // After an action (a print made), the page opens on its outcome: focus moves to the message, so a
  // keyboard or screen-reader user hears it and goes on from there instead of from the top of the page.
  document.addEventListener("DOMContentLoaded", function () {
    var outcome = document.querySelector("[data-focus]");
    if (outcome) { outcome.focus(); }
  });

  function stateWords(p) {
    if (p.batch) {
      return "Reading " + p.batch.files + " file" + (p.batch.files !== 1 ? "s" : "") + ": " +
        p.batch.pages_done + " pages read so far.";
    }
    if (p.waiting.length) {
      return p.waiting.length + " file" + (p.waiting.length !== 1 ? "s" : "") + " waiting to be read.";
    }
    return "Nothing to read right now." + (p.pages_in_ledger != null ? " " + p.pages_in_ledger + " pages read in all." : "");
  }

  function render(p) {
    var state = document.getElementById("scan-state");
    var body = document.getElementById("scan-files");
    if (!state || !body) { return; }
    var words = stateWords(p);
    if (state.textContent !== words) { text(state, words); }
    var rows = p.waiting.concat(p.files);
    var fresh = document.createDocumentFragment();
    rows.forEach(function (e) {
      var tr = document.createElement("tr");
      tr.className = "state-" + String(e.state).replace(/ /g, "-");
      var th = document.createElement("th");
      th.scope = "row";
      text(th, e.name);
      tr.appendChild(th);
      [e.source === "upload" ? "sent here" : "scanner folder", e.words, e.advice].forEach(function (v, n) {
        var td = document.createElement("td");
        if (n === 1) {  // the outcome in words first, as the page draws it (icon and colour only beside them)
          var label = document.createElement("span");
          label.className = "outcome";
          text(label, (OUTCOMES[e.state] || e.state) + ":");
          td.appendChild(label);
          td.appendChild(document.createTextNode(" " + (v == null ? "" : String(v))));
        } else {
          text(td, v);
        }
        tr.appendChild(td);
      });
      fresh.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 4;
      text(td, "No files yet.");
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);
  }

  function poll(box) {
    var url = box.getAttribute("data-url");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) { if (p) { render(p); } })
        .catch(function () { /* the app restarting: try again next time */ })
        .then(function () { window.setTimeout(tick, 2000); });
    }
    window.setTimeout(tick, 1000);
  }

  function dropzone(form) {
    var input = form.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (e) { e.preventDefault(); form.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () { form.classList.remove("over"); });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length && input) {
        input.files = e.dataTransfer.files;
        form.submit();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("scan-progress");
    if (box) {
      try { OUTCOMES = JSON.parse(box.getAttribute("data-outcomes") || "{}"); } catch (e) { OUTCOMES = {}; }
      poll(box);
    }
    var form = document.getElementById("upload-form");
    if (form) { dropzone(form); }
  });
})();
