// The model-debt dashboard's charts, drawn from the figures the page embeds (json_script "dashboard-data").
// Clicking a bar, a cell or a day opens the models behind it (the drill-down page, same filters).
(function () {
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const urls = JSON.parse(document.getElementById("dashboard-urls").textContent);
  const config = {displaylogo: false, responsive: true};
  const base = {margin: {t: 44, r: 16, b: 56, l: 60}, font: {size: 12}, legend: {orientation: "h", y: -0.2}};
  const layout = (extra) => Object.assign({}, base, extra);
  const drill = (figure) => {
    const q = urls.query ? "&" + urls.query : "";
    window.location.href = urls.drill + "?figure=" + encodeURIComponent(figure) + q;
  };
  const colours = {shelf: "#8c6d31", stale: "#b5651d", unmonitored: "#c0392b", degrading: "#8e44ad",
                   overdue_validation: "#2d6da3", ungoverned: "#5b6877", stuck: "#d4a017"};
  const labels = {shelf: "On the shelf", stale: "Stale", unmonitored: "Unmonitored", degrading: "Degrading",
                  overdue_validation: "Overdue validation", ungoverned: "Ungoverned", stuck: "Stuck request"};

  // 1. The debt trend, stacked by component (their parts add up to the index).
  const days = data.trend.map((r) => r.date);
  const trend = Object.keys(labels).map((key) => ({
    x: days, y: data.trend.map((r) => r[key]), name: labels[key], type: "scatter", mode: "lines",
    stackgroup: "debt", line: {width: 0.5, color: colours[key]}, customdata: days.map((d) => "day:" + d + ":" + key),
    hovertemplate: "%{x}<br>" + labels[key] + ": %{y:.1f} points<extra>click: the models</extra>",
  }));
  Plotly.newPlot("chart-trend", trend, layout({
    title: {text: days.length ? "Model Debt Index over time, by component" : "Model Debt Index over time (no snapshot in this range yet)"},
    yaxis: {title: {text: "index points"}, rangemode: "tozero"}, xaxis: {type: "date"}, hovermode: "closest",
  }), config);

  // 2. The stage funnel.
  const funnel = data.funnel;
  Plotly.newPlot("chart-funnel", [{
    type: "funnel", y: funnel.map((f) => f.label), x: funnel.map((f) => f.value),
    customdata: funnel.map((f) => f.key), marker: {color: "#2d6da3"}, textinfo: "value+percent initial",
  }], layout({title: {text: "Stage funnel (models)"}, margin: {t: 44, r: 16, b: 30, l: 150}}), config);

  // 3. Debt per team and component: the mean d of the team's live models, as a percentage, written in each
  // cell with how many of the team's models carry it.
  const hm = data.heatmap;
  const cellText = hm.z.map((row, i) => row.map((z, j) => z.toFixed(0) + "%<br>" + hm.counts[i][j] + " of " + hm.models[i]));
  Plotly.newPlot("chart-heatmap", [{
    type: "heatmap", z: hm.z, x: hm.components, y: hm.teams.map((t, i) => t + " (" + hm.models[i] + ")"),
    colorscale: "YlOrRd", reversescale: true, zmin: 0, zmax: 100,
    customdata: hm.z.map((row, i) => row.map((_, j) => "heat:" + hm.team_ids[i] + ":" + hm.keys[j])),
    text: cellText, texttemplate: "%{text}", textfont: {size: 11},
    hovertemplate: "%{y} · %{x}<br>mean d of the team's live models: %{z:.0f}%<extra>click: the models</extra>",
    colorbar: {title: {text: "mean d (%)"}},
  }], layout({title: {text: "Debt by team: mean d (%), and n of the team's N models"},
              margin: {t: 44, r: 16, b: 90, l: 130}}), config);

  // 4. Lead time: one dot per model (first test → first production), so two models are two dots.
  const lead = data.lead_time_days;
  Plotly.newPlot("chart-leadtime", [{
    type: "scatter", mode: "markers", x: lead, y: lead.map((_, i) => (i % 7 - 3) / 10), marker: {color: "#1e7b4f", size: 10, opacity: 0.8},
    hovertemplate: "%{x:.1f} days<extra>one model</extra>",
  }], layout({
    title: {text: lead.length ? "Lead time, first test → first production (" + lead.length + " model" + (lead.length === 1 ? "" : "s") + ", one dot each)"
                              : "Lead time (no model reached production in this range)"},
    xaxis: {title: {text: "days"}, rangemode: "tozero", zeroline: false}, yaxis: {visible: false, range: [-1, 1]},
  }), config);

  // 5. Dwell by stage (quartiles computed on the server).
  const stages = ["design", "test", "production"];
  const boxes = stages.filter((s) => data.dwell_days[s].n);
  Plotly.newPlot("chart-dwell", boxes.map((s) => {
    const b = data.dwell_days[s];
    return {type: "box", name: s + " (" + b.n + ")", x: [s], q1: [b.q1], median: [b.median], q3: [b.q3],
            lowerfence: [b.min], upperfence: [b.max], boxpoints: false};
  }), layout({title: {text: boxes.length ? "Dwell time by stage (exits in the range)" : "Dwell time (no exits in this range)"},
              yaxis: {title: {text: "days"}, rangemode: "tozero"}, showlegend: false}), config);

  // Drill-downs.
  document.getElementById("chart-trend").on("plotly_click", (ev) => {
    const p = ev.points[0];
    if (p && p.customdata) drill(p.customdata);
  });
  document.getElementById("chart-funnel").on("plotly_click", (ev) => drill(ev.points[0].customdata));
  document.getElementById("chart-heatmap").on("plotly_click", (ev) => drill(ev.points[0].customdata));
  document.getElementById("chart-leadtime").on("plotly_click", () => drill("lead_time_median"));
  document.getElementById("chart-dwell").on("plotly_click", (ev) => drill("dwell_" + boxes[ev.points[0].curveNumber]));
})();
