// Small inline-SVG charts for the supervisors' dashboard: a line over time slots and bars.
// No library: each chart is redrawn whole from the figures the server sends.
"use strict";

window.DashCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 360, H = 150, PAD = { l: 44, r: 14, t: 10, b: 24 };

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function frame(label) {
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart-svg" });
    return svg;
  }

  // A round upper bound for the axis: 1, 2, 5 × 10^n.
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(value));
    for (const m of [1, 2, 5, 10]) if (m * p >= value) return m * p;
    return 10 * p;
  }

  function axes(svg, max, fmt) {
    const y0 = H - PAD.b;
    for (const f of [0, 0.5, 1]) {
      const y = y0 - f * (y0 - PAD.t);
      svg.append(el("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid-line" }));
      svg.append(el("text", { x: PAD.l - 4, y: y + 4, class: "axis", "text-anchor": "end" }, fmt(max * f)));
    }
  }

  // points: [{t, value}] (value null: no sample); fmt formats the y axis.
  function line(points, fmt, label, timeLabel) {
    const svg = frame(label);
    const values = points.map((p) => p.value).filter((v) => v !== null);
    const max = niceMax(Math.max(0, ...values));
    axes(svg, max, fmt);
    const n = Math.max(1, points.length - 1);
    const x = (i) => PAD.l + (i / n) * (W - PAD.l - PAD.r);
    const y = (v) => H - PAD.b - (v / max) * (H - PAD.b - PAD.t);
    let d = "";
    points.forEach((p, i) => {
      if (p.value === null) return;
      d += `${d && points[i - 1] && points[i - 1].value !== null ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
    });
    if (d) svg.append(el("path", { d, class: "series" }));
    points.forEach((p, i) => {
      if (p.value === null) return;
      const dot = el("circle", { cx: x(i), cy: y(p.value), r: 2.2, class: "dot" });
      dot.append(el("title", {}, `${timeLabel(p.t)}: ${fmt(p.value)}`));
      svg.append(dot);
    });
    for (const i of [0, Math.floor(points.length / 2), points.length - 1]) {
      if (points[i]) svg.append(el("text", { x: x(i), y: H - 6, class: "axis", "text-anchor": "middle" }, timeLabel(points[i].t)));
    }
    if (!values.length) svg.append(el("text", { x: W / 2, y: H / 2, class: "axis", "text-anchor": "middle" }, "no samples yet"));
    return svg;
  }

  // bars: [{label, count, title}]
  function bars(items, label) {
    const svg = frame(label);
    const max = niceMax(Math.max(0, ...items.map((b) => b.count)));
    axes(svg, max, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)));
    const slot = (W - PAD.l - PAD.r) / Math.max(1, items.length);
    items.forEach((b, i) => {
      const h = (b.count / max) * (H - PAD.b - PAD.t);
      const rect = el("rect", {
        x: PAD.l + i * slot + slot * 0.15, y: H - PAD.b - h, width: slot * 0.7, height: Math.max(0, h), class: "bar",
      });
      rect.append(el("title", {}, `${b.title}: ${b.count}`));
      svg.append(rect);
      if (items.length <= 8 || i % 4 === 0) {
        svg.append(el("text", { x: PAD.l + i * slot + slot / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, b.label));
      }
    });
    return svg;
  }

  return { line, bars };
})();
