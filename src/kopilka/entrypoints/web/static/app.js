// kopilka pages: charts from server-built specs, confirmations. No inline scripts anywhere
// (the Content-Security-Policy forbids them): behaviour hangs on data- attributes.
(function () {
  "use strict";

  // <canvas data-chart="spec-id"> + <script type="application/json" id="spec-id">{chart.js config}</script>
  function drawCharts(root) {
    if (typeof window.Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      spec.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false},
                                   spec.options || {});
      new window.Chart(canvas, spec);
      canvas.dataset.drawn = "1";
    });
  }

  // <form data-confirm="Really?">: asks before submitting
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
