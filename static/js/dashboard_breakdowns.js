/* The dashboard's revenue breakdowns and utilisation (templates/analytics/_breakdowns.html): the
   figures come from <script type="application/json" id="breakdowns-data"> (json_script); every
   chart has its table beside it, whose rows link to the visits behind them, and a click on a bar
   opens the same list. No animation: each chart is drawn once, at rest. */
(function () {
  "use strict";
  function bars(canvas, labels, datasets, urls, options) {
    var Chart = window.Chart;
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign({
        locale: document.documentElement.lang || "en",
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        onClick: function (event, elements) {
          if (elements.length && urls[elements[0].index]) window.location.href = urls[elements[0].index];
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        }
      }, options)
    });
    canvas.dataset.drawn = "true";
  }

  function start() {
    var source = document.getElementById("breakdowns-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var money = { x: { beginAtZero: true } };
    var one = { legend: { display: false } };

    var service = document.getElementById("chart-by-service");
    if (service && data.services.labels.length) {
      bars(service, data.services.labels,
        [{ data: data.services.values, backgroundColor: "rgba(13, 110, 253, 0.6)", borderColor: "#0d6efd", borderWidth: 1 }],
        data.services.urls, { plugins: one, scales: money });
    }
    var category = document.getElementById("chart-by-category");
    if (category && data.categories.labels.length) {
      bars(category, data.categories.labels,
        [{ data: data.categories.values, backgroundColor: "rgba(32, 201, 151, 0.6)", borderColor: "#198754", borderWidth: 1 }],
        data.categories.urls, { plugins: one, scales: money });
    }
    var stylist = document.getElementById("chart-by-stylist");
    if (stylist && data.staff.labels.length) {
      bars(stylist, data.staff.labels, [
        { label: data.staff.services_label, data: data.staff.services, backgroundColor: "rgba(13, 110, 253, 0.6)", borderColor: "#0d6efd", borderWidth: 1 },
        { label: data.staff.products_label, data: data.staff.products, backgroundColor: "rgba(180, 83, 9, 0.6)", borderColor: "#b45309", borderWidth: 1 }
      ], data.staff.urls, { scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } });
    }
    var use = document.getElementById("chart-utilisation");
    if (use && data.utilisation.labels.length) {
      bars(use, data.utilisation.labels,
        [{ label: data.utilisation.label, data: data.utilisation.values, backgroundColor: "rgba(111, 66, 193, 0.6)", borderColor: "#6f42c1", borderWidth: 1 }],
        data.utilisation.urls, { plugins: one, scales: { x: { beginAtZero: true, suggestedMax: 100, title: { display: true, text: data.utilisation.label } } } });
    }
  }
  // deferred like Chart.js, but earlier in the page: draw once every deferred script has run
  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
