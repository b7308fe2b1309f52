// A version's monitoring chart: the metrics serving reported (with their floors) and the largest PSI.
(function () {
  const data = JSON.parse(document.getElementById("observation-data").textContent);
  const traces = Object.entries(data.metrics).map(([name, values]) => ({
    x: data.x, y: values, name: name, type: "scatter", mode: "lines+markers", marker: {size: 4},
  }));
  Object.entries(data.floors).forEach(([name, floor]) => traces.push({
    x: [data.x[0], data.x[data.x.length - 1]], y: [floor, floor], name: name + " floor", mode: "lines",
    line: {dash: "dot", color: "#b42318"},
  }));
  traces.push({x: data.x, y: data.max_psi, name: "max PSI", type: "scatter", mode: "lines", yaxis: "y2",
               line: {color: "#8e44ad"}});
  Plotly.newPlot("chart-observations", traces, {
    margin: {t: 30, r: 60, b: 40, l: 60}, font: {size: 12}, legend: {orientation: "h", y: -0.25},
    title: {text: "Reported by serving"}, xaxis: {type: "date"},
    yaxis: {title: {text: "metric"}}, yaxis2: {title: {text: "PSI"}, overlaying: "y", side: "right", rangemode: "tozero"},
    shapes: [0.1, 0.25].map((y) => ({type: "line", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: y, y1: y,
                                       line: {color: y > 0.2 ? "#b42318" : "#a86400", width: 1, dash: "dash"}})),
  }, {displaylogo: false, responsive: true});
})();
