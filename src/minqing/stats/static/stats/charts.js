/* Draws the charts of the statistics pages. Data comes from <script type="application/json" id="chart-data">
   (not executable, so allowed by the CSP); ECharts is vendored under static/vendor/echarts. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var source = document.getElementById("chart-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var charts = [];
    var trend = document.getElementById("chart-trend");
    if (trend && data.trend) {
      var t = echarts.init(trend);
      t.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { data: ["登记", "办结"] },
        grid: { left: 40, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: data.trend.days },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: "登记", type: "line", data: data.trend.received, smooth: true },
          { name: "办结", type: "line", data: data.trend.closed, smooth: true }
        ]
      });
      charts.push(t);
    }
    var mix = document.getElementById("chart-categories");
    if (mix && data.categories) {
      var m = echarts.init(mix);
      m.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        series: [{ type: "pie", radius: ["35%", "65%"], data: data.categories, label: { fontSize: 11 } }]
      });
      charts.push(m);
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    document.documentElement.setAttribute("data-charts-ready", String(charts.length));
  });
})();
