// Tresor UI: the few things a server-rendered page cannot do alone.
// No framework, no inline script (the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("click", function (ev) {
  var t = ev.target.closest("button");
  if (!t) return;
  if (t.hasAttribute("data-reveal")) {
    var cell = t.parentElement;
    var value = cell.querySelector(".value");
    var mask = cell.querySelector(".masked");
    var show = value.hidden;
    value.hidden = !show;
    mask.hidden = show;
    t.textContent = show ? "Hide" : "Reveal";
    t.setAttribute("aria-pressed", show ? "true" : "false");
  } else if (t.hasAttribute("data-copy")) {
    var v = t.parentElement.querySelector(".value").textContent;
    navigator.clipboard.writeText(v).then(function () {
      t.textContent = "Copied";
      setTimeout(function () { t.textContent = "Copy"; }, 1500);
    });
  } else if (t.hasAttribute("data-download")) {
    var src = document.getElementById(t.getAttribute("data-download"));
    var blob = new Blob([src.textContent], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = t.getAttribute("data-filename") || "download.json";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  } else if (t.hasAttribute("data-add-row")) {
    var rows = document.getElementById(t.getAttribute("data-add-row"));
    var last = rows.lastElementChild;
    if (!last) return;
    var row = last.cloneNode(true);
    var n = rows.children.length;
    row.querySelectorAll("input, textarea").forEach(function (el) {
      el.value = "";
      el.id = el.id.replace(/\d+$/, "") + n;
    });
    row.querySelectorAll("label").forEach(function (el) {
      el.htmlFor = el.htmlFor.replace(/\d+$/, "") + n;
    });
    rows.appendChild(row);
    row.querySelector("input").focus();
  }
});
// Forms that destroy something ask first.
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) ev.preventDefault();
});
// The secret editor shows the rows or the JSON, whichever is chosen (both
// without JavaScript).
function applyMode(form) {
  var chosen = form.querySelector("input[name=mode]:checked");
  if (!chosen) return;
  form.querySelectorAll("[data-mode]").forEach(function (el) {
    el.hidden = el.getAttribute("data-mode") !== chosen.value;
  });
}
document.addEventListener("change", function (ev) {
  if (ev.target.name === "mode" && ev.target.form) applyMode(ev.target.form);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(applyMode);
});
