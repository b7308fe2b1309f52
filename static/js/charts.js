// Benchmark charts from the data the page embeds (json_script "charts-data"); plotly.js is served locally.
(function () {
  const data = JSON.parse(document.getElementById("charts-data").textContent);
  const common = {margin: {t: 40, r: 10, b: 50, l: 60}, font: {size: 12}, legend: {orientation: "h", y: -0.25}};
  const config = {displaylogo: false, responsive: true};
  Plotly.newPlot("chart-latency", data.latency, Object.assign({}, common, {
    title: {text: "Latency distribution per batch size"}, barmode: "overlay",
    xaxis: {title: {text: "latency (ms)"}}, yaxis: {title: {text: "iterations"}},
  }), config);
  Plotly.newPlot("chart-throughput", data.throughput, Object.assign({}, common, {
    title: {text: "Throughput against batch size"},
    xaxis: {title: {text: "batch size"}, type: "log"}, yaxis: {title: {text: "samples/s"}},
  }), config);
})();
