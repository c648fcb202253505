// Ratings per day and their average, on the manager's feedback page (Chart.js).
(function () {
  "use strict";
  var source = document.getElementById("feedback-trend-data");
  var canvas = document.getElementById("feedback-trend");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var days = JSON.parse(source.textContent);
  new Chart(canvas, {
    data: {
      labels: days.map(function (d) { return d.date.slice(5); }),
      datasets: [
        { type: "bar", label: "ratings by people", data: days.map(function (d) { return d.count; }),
          backgroundColor: "rgba(36, 87, 214, 0.35)", yAxisID: "count" },
        { type: "line", label: "their average (0-1)", data: days.map(function (d) { return d.average_rating; }),
          borderColor: "#b45309", spanGaps: true, yAxisID: "average" }
      ]
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        count: { position: "left", beginAtZero: true, ticks: { precision: 0 } },
        average: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false } }
      }
    }
  });
})();
