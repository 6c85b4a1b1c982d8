/* The dashboard's monthly cohorts and membership tiers (templates/analytics/_cohorts.html): the
   figures come from <script type="application/json" id="cohorts-data"> (json_script); the same
   figures, with links to the clients behind them, are in the tables beside the charts. A tier's
   bar, and a lifecycle stage's bar (the funnel drawn by dashboard.js), opens its clients.
   Runs on "load": after Chart.js and dashboard.js, whatever the order of the script tags. */
(function () {
  "use strict";

  function clientsUrl(box, params) {
    return box.dataset.clientsUrl + "?" + params + "&" + box.dataset.query;
  }

  function openOnClick(chart, urlOf) {
    chart.options.onClick = function (event, elements) {
      if (elements.length) window.location.assign(urlOf(elements[0].index));
    };
    chart.options.onHover = function (event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    };
    chart.update();
  }

  function start() {
    var source = document.getElementById("cohorts-data");
    var box = document.getElementById("dashboard-cohorts");
    if (!source || !box || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || "en";
    var Chart = window.Chart;

    var cohorts = document.getElementById("chart-cohorts");
    if (cohorts) {
      new Chart(cohorts, {
        type: "line",
        data: {
          labels: data.cohorts.labels,
          datasets: [
            { label: data.cohorts.repurchase_label, data: data.cohorts.repurchase, borderColor: "#0d6efd",
              backgroundColor: "#0d6efd", pointRadius: 3, tension: 0, spanGaps: false },
            { label: data.cohorts.revisit_label, data: data.cohorts.revisit, borderColor: "#b45309",
              backgroundColor: "#b45309", pointStyle: "rectRot", pointRadius: 4, borderDash: [6, 3],
              tension: 0, spanGaps: false }
          ]
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          locale: lang,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: function (v) { return v + "%"; } } } }
        }
      });
      cohorts.dataset.drawn = "true";
    }

    var tiers = document.getElementById("chart-tiers");
    if (tiers) {
      var chart = new Chart(tiers, {
        type: "bar",
        data: {
          labels: data.tiers.labels,
          datasets: [{ label: data.tiers.label, data: data.tiers.counts, backgroundColor: "#6f42c1" }]
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          locale: lang,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
        }
      });
      openOnClick(chart, function (i) {
        return clientsUrl(box, "metric=tier&tier=" + encodeURIComponent(data.tiers.keys[i]));
      });
      tiers.dataset.drawn = "true";
    }

    // the lifecycle funnel (drawn by dashboard.js): a stage's bar opens its clients
    var funnel = document.getElementById("chart-funnel");
    var funnelChart = funnel ? Chart.getChart(funnel) : null;
    if (funnelChart) {
      var stages = Array.prototype.map.call(
        document.querySelectorAll("#funnel-table tr[data-stage]"),
        function (row) { return row.dataset.stage; }
      );
      openOnClick(funnelChart, function (i) {
        return clientsUrl(box, "metric=stage_" + encodeURIComponent(stages[i]));
      });
    }
  }

  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
