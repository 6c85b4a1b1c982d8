/* The manager dashboard's charts (templates/analytics/dashboard.html): the figures come from the
   page's <script type="application/json" id="dashboard-data"> (json_script) and every chart has the
   same figures in a table beside it. No animation: the chart is drawn once, at rest. */
(function () {
  "use strict";
  function start() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || "en";
    var Chart = window.Chart;
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.color = "#495057";

    var trend = document.getElementById("chart-trend");
    if (trend && data.trend.labels.length) {
      new Chart(trend, {
        data: {
          labels: data.trend.labels,
          datasets: [
            { type: "bar", label: data.trend.revenue_label, data: data.trend.revenue, yAxisID: "revenue",
              backgroundColor: "rgba(13, 110, 253, 0.55)", borderColor: "#0d6efd", borderWidth: 1, order: 2 },
            { type: "line", label: data.trend.visits_label, data: data.trend.visits, yAxisID: "visits",
              borderColor: "#b45309", backgroundColor: "#b45309", pointStyle: "rectRot", pointRadius: 3,
              borderDash: [6, 3], tension: 0, order: 1 }
          ]
        },
        options: {
          locale: lang,
          interaction: { mode: "index", intersect: false },
          scales: {
            revenue: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: data.trend.revenue_label } },
            visits: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
              ticks: { precision: 0 }, title: { display: true, text: data.trend.visits_label } }
          }
        }
      });
      trend.dataset.drawn = "true";
    }

    var funnel = document.getElementById("chart-funnel");
    if (funnel) {
      new Chart(funnel, {
        type: "bar",
        data: {
          labels: data.funnel.labels,
          datasets: [{ label: data.funnel.label, data: data.funnel.counts,
            backgroundColor: ["#6c757d", "#20c997", "#198754", "#fd7e14", "#dc3545"] }]
        },
        options: {
          locale: lang,
          indexAxis: "y",
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
      funnel.dataset.drawn = "true";
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
