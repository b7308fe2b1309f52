// Benchmark charts from the data the page embeds (json_script "charts-data"); plotly.js is served locally.
(function () {
  const data = JSON.parse(document.getElementById("charts-data").textContent);
  const common = {margin: {t: 40, r: 10, b: 60, l: 70}, font: {size: 12}, legend: {orientation: "h", y: -0.35}};
  const batches = [...new Set(data.throughput.flatMap((t) => t.x))].sort((a, b) => a - b);
  const config = {displaylogo: false, responsive: true};
  Plotly.newPlot("chart-latency", data.latency, Object.assign({}, common, {
    title: {text: "Latency distribution per batch size"}, barmode: "overlay",
    xaxis: {title: {text: "latency (ms)"}, automargin: true}, yaxis: {title: {text: "iterations"}, automargin: true},
  }), config);
  Plotly.newPlot("chart-throughput", data.throughput, Object.assign({}, common, {
    title: {text: "Throughput against batch size"},
    xaxis: {title: {text: "batch size"}, type: "log", tickvals: batches, ticktext: batches.map(String)},
    yaxis: {title: {text: "samples/s"}, automargin: true, rangemode: "tozero"},
  }), config);
})();
