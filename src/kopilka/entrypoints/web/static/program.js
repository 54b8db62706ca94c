// kopilka program and promotion pages: the YAML editor (line numbers and the highlighted
// error lines follow the text as it scrolls and changes; an error's "line n" link puts the
// cursor on that line) and the preview's "Add a line". No inline scripts (CSP).
(function () {
  "use strict";

  function lineSpans(count, bad, withText, lines) {
    var out = [];
    for (var i = 0; i < count; i++) {
      var span = document.createElement("span");
      if (bad.indexOf(i + 1) >= 0) { span.className = "bad"; }
      span.textContent = withText ? (lines[i] + " ") : String(i + 1);
      out.push(span);
    }
    return out;
  }

  function setUp(box) {
    var area = box.querySelector("textarea");
    var gutter = box.querySelector(".gutter");
    var backdrop = box.querySelector(".backdrop");
    var bad = (box.dataset.badLines || "").split(",").filter(Boolean).map(Number);
    function redraw() {
      var lines = area.value.split("\n");
      gutter.replaceChildren.apply(gutter, lineSpans(lines.length, bad, false, lines));
      backdrop.replaceChildren.apply(backdrop, lineSpans(lines.length, bad, true, lines));
      sync();
    }
    function sync() {
      gutter.scrollTop = area.scrollTop;
      backdrop.scrollTop = area.scrollTop;
      backdrop.scrollLeft = area.scrollLeft;
    }
    area.addEventListener("input", function () { bad = []; redraw(); });
    area.addEventListener("scroll", sync);
    box.goToLine = function (n) {
      var lines = area.value.split("\n");
      var start = 0;
      for (var i = 0; i < n - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
      var end = start + (lines[n - 1] || "").length;
      area.focus();
      area.setSelectionRange(start, end);
      var lineHeight = parseFloat(window.getComputedStyle(area).lineHeight) || 20;
      area.scrollTop = Math.max(0, (n - 3) * lineHeight);
      sync();
    };
    if (bad.length) {  // show the first problem without scrolling the page to it
      var lineHeight = parseFloat(window.getComputedStyle(area).lineHeight) || 20;
      area.scrollTop = Math.max(0, (bad[0] - 3) * lineHeight);
      sync();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-goto-line]") : null;
    if (link) {
      event.preventDefault();
      var box = document.getElementById(link.getAttribute("href").slice(1));
      box = box && box.closest("[data-code-editor]");
      if (box && box.goToLine) { box.goToLine(Number(link.dataset.gotoLine)); }
      return;
    }
    var add = event.target.closest ? event.target.closest("[data-add-line]") : null;
    if (add) {
      var body = document.querySelector(".receipt-lines tbody");
      var rows = body.querySelectorAll("tr.line-row");
      if (rows.length >= 50) { return; }
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) {
        input.value = input.name === "quantity" ? "1" : "";
      });
      body.appendChild(copy);
      copy.querySelector("input").focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-code-editor]").forEach(setUp);
  });
})();
