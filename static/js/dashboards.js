// Role dashboards (Chart.js, served by the app). The data comes embedded in the page
// (#dashboard-data) and is fetched again from the analytics API when a live event says
// something changed, so the charts move while the agent works.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var charts = {};
  var colours = { positive: "#16a34a", negative: "#dc2626", expired: "#9ca3af", waiting: "#f59e0b", line: "#2457d6", settling: "rgba(36, 87, 214, 0.35)" };

  function percent(v) { return v === null || v === undefined ? "–" : Math.round(v * 100) + " %"; }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({ maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart(canvas, config);
  }

  // A click on a day opens that day's actions, filtered as the dashboard is.
  function drillToDay(canvas, day) {
    var base = canvas.dataset.drill;
    if (!base) { return; }
    var params = new URLSearchParams();
    var type = new URLSearchParams(location.search).get("action_type");
    if (type) { params.set("action_type", type); }
    if (data.rep) { params.set("rep", data.rep); }
    var query = params.toString();
    location.href = base.replace("DAY", day) + (query ? "?" + query : "");
  }

  function trend() {
    if (!data.trend) { return; }
    var labels = data.trend.map(function (d) { return d.date.slice(5); });
    draw("trend-chart", {
      data: {
        labels: labels,
        datasets: [
          { type: "bar", label: "positive", data: data.trend.map(function (d) { return d.positive; }), backgroundColor: colours.positive, stack: "s" },
          { type: "bar", label: "negative", data: data.trend.map(function (d) { return d.negative; }), backgroundColor: colours.negative, stack: "s" },
          { type: "bar", label: "expired", data: data.trend.map(function (d) { return d.expired; }), backgroundColor: colours.expired, stack: "s" },
          { type: "bar", label: "pending or to label", data: data.trend.map(function (d) { return d.pending + d.ambiguous; }), backgroundColor: colours.waiting, stack: "s" },
          { type: "line", label: "success rate (settled days)", data: data.trend.map(function (d) { return d.settled_rate; }), borderColor: colours.line, yAxisID: "rate", spanGaps: false, order: -2 },
          { type: "bar", label: "still settling: where the rate can end", data: data.trend.map(function (d) { return d.settled || d.rate_low === null ? null : [d.rate_low, d.rate_high]; }), backgroundColor: colours.settling, borderColor: colours.line, borderWidth: 1, yAxisID: "rate", grouped: false, barPercentage: 0.3, order: -1 }
        ]
      },
      options: {
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "actions" } },
          rate: { position: "right", min: 0, max: 1, grid: { drawOnChartArea: false }, ticks: { callback: percent } }
        },
        interaction: { mode: "index", intersect: false },  // a click anywhere in a day's column
        plugins: { tooltip: { callbacks: { footer: function (items) {
          var d = data.trend[items[0].dataIndex];
          if (d.settled || d.rate_low === null) { return "success rate " + percent(d.success_rate); }
          return percent(d.waiting_share) + " still waiting: the rate will end between " + percent(d.rate_low) + " and " + percent(d.rate_high);
        } } } },
        onClick: function (event, elements, chart) {
          if (elements.length) { drillToDay(chart.canvas, data.trend[elements[0].index].date); }
        }
      }
    });
  }

  function reps() {
    if (!data.per_rep) { return; }
    draw("reps-chart", {
      type: "bar",
      data: {
        labels: data.per_rep.map(function (r) { return r.rep; }),
        datasets: [
          { label: "success rate (so far, where not settled)", data: data.per_rep.map(function (r) { return r.success_rate; }), backgroundColor: colours.positive },
          { label: "escalation rate", data: data.per_rep.map(function (r) { return r.escalation_rate; }), backgroundColor: colours.waiting }
        ]
      },
      options: {
        scales: { y: { min: 0, max: 1, ticks: { callback: percent } } },
        // an unsettled rate says so, with the range it will end in (as the table does)
        plugins: { tooltip: { callbacks: { afterLabel: function (item) {
          var r = data.per_rep[item.dataIndex];
          if (item.datasetIndex !== 0 || r.settled || r.rate_low === null) { return ""; }
          return "not settled: will end between " + percent(r.rate_low) + " and " + percent(r.rate_high);
        } } } },
        onClick: function (event, elements, chart) {
          if (elements.length) {
            location.href = chart.canvas.dataset.drill + "?rep=" + encodeURIComponent(data.per_rep[elements[0].index].rep);
          }
        }
      }
    });
  }

  function executive() {
    if (!data.agent_vs_human) { return; }
    draw("versus-chart", {
      type: "bar",
      data: {
        labels: ["agent", "people (baseline)"],
        datasets: [{ label: "success rate", data: [data.agent_vs_human.agent_success_rate, data.agent_vs_human.human_success_rate], backgroundColor: [colours.line, colours.expired] }]
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 1, ticks: { callback: percent } } } }
    });
    draw("engagement-chart", {
      type: "line",
      data: {
        labels: data.engagement_trend.map(function (w) { return "week of " + w.week.slice(5); }),
        datasets: [{ label: "email response rate (settled weeks)", data: data.engagement_trend.map(function (w) { return w.response_rate; }), borderColor: colours.positive, spanGaps: false }]
      },
      options: { scales: { y: { min: 0, max: 1, ticks: { callback: percent } } } }
    });
  }

  function figures() {
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var value = el.dataset.figure.split(".").reduce(function (o, k) { return o === null || o === undefined ? o : o[k]; }, data);
      if (value === undefined) { return; }
      if (el.dataset.format === "percent") { el.textContent = percent(value); }
      else if (el.dataset.format === "fixed3") { el.textContent = value === null ? "–" : value.toFixed(3); }
      else { el.textContent = value === null ? "–" : (typeof value === "number" ? value.toLocaleString("en-US") : String(value)); }
    });
  }

  function render() { trend(); reps(); executive(); figures(); }
  render();

  // Live: refetch (at most every 3 s) when outcomes resolve or feedback arrives.
  var api = document.getElementById("dashboard-api");
  var timer = null;
  document.addEventListener("ll:live", function () {
    if (!api || timer) { return; }
    timer = setTimeout(function () {
      timer = null;
      fetch(api.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (fresh) { if (fresh) { data = fresh; render(); } });
    }, 3000);
  });
})();
