// Intent coverage and draft accuracy per week, with proposals applied (Chart.js).
(function () {
  "use strict";
  var source = document.getElementById("learning-trend-data");
  var canvas = document.getElementById("learning-trend");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var weeks = JSON.parse(source.textContent);
  new Chart(canvas, {
    data: {
      labels: weeks.map(function (w) { return w.week.slice(5); }),
      datasets: [
        { type: "bar", label: "proposals applied", data: weeks.map(function (w) { return w.proposals_applied; }),
          backgroundColor: "rgba(36, 87, 214, 0.3)", yAxisID: "count" },
        { type: "line", label: "intent coverage", data: weeks.map(function (w) { return w.intent_coverage; }),
          borderColor: "#1f9d68", spanGaps: true, yAxisID: "share" },
        { type: "line", label: "draft accuracy", data: weeks.map(function (w) { return w.draft_accuracy; }),
          borderColor: "#b45309", spanGaps: true, yAxisID: "share" }
      ]
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        share: { position: "left", min: 0, max: 1, ticks: { callback: function (v) { return Math.round(v * 100) + " %"; } } },
        count: { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false } }
      }
    }
  });
})();
