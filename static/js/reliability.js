// Reliability diagrams (Chart.js, served by the app): one per action type.
(function () {
  "use strict";
  var source = document.getElementById("calibration-curves");
  if (!source || typeof Chart === "undefined") { return; }
  var curves = JSON.parse(source.textContent);

  // Draws each bin's 95 % Wilson interval as a vertical whisker.
  var whiskers = {
    id: "whiskers",
    afterDatasetsDraw: function (chart) {
      var meta = chart.getDatasetMeta(1);
      var ctx = chart.ctx;
      var y = chart.scales.y;
      ctx.save();
      ctx.strokeStyle = "rgba(36, 87, 214, 0.55)";
      ctx.lineWidth = 1.5;
      meta.data.forEach(function (point, i) {
        var bin = chart.data.datasets[1].data[i];
        ctx.beginPath();
        ctx.moveTo(point.x, y.getPixelForValue(bin.low));
        ctx.lineTo(point.x, y.getPixelForValue(bin.high));
        ctx.stroke();
      });
      ctx.restore();
    }
  };

  document.querySelectorAll("canvas[data-reliability]").forEach(function (canvas) {
    var curve = curves[Number(canvas.dataset.reliability)];
    var maxCount = Math.max.apply(null, curve.bins.map(function (b) { return b.count; }).concat([1]));
    var points = curve.bins.filter(function (b) { return b.count > 0; }).map(function (b) {
      return { x: b.mean_predicted, y: b.actual_rate, n: b.count, low: b.ci_low, high: b.ci_high,
               r: 3 + 9 * Math.sqrt(b.count / maxCount) };
    });
    new Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          { label: "Perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true,
            borderColor: "#9aa3b5", borderDash: [5, 4], pointRadius: 0, pointHitRadius: 0 },
          { label: "Observed", data: points, showLine: true, borderColor: "#2457d6",
            backgroundColor: "rgba(36, 87, 214, 0.35)",
            pointRadius: points.map(function (p) { return p.r; }) }
        ]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { min: 0, max: 1, title: { display: true, text: "predicted confidence" } },
          y: { min: 0, max: 1, title: { display: true, text: "actual success rate" } }
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: function (item) { return item.datasetIndex === 1; },
            callbacks: {
              label: function (item) {
                var p = item.raw;
                return "predicted " + p.x.toFixed(2) + ", actual " + p.y.toFixed(2) +
                  " (" + p.low.toFixed(2) + "–" + p.high.toFixed(2) + "), n = " + p.n;
              }
            }
          }
        }
      },
      plugins: [whiskers]
    });
  });
})();
