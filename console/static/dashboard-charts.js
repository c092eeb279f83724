// Small inline-SVG charts for the supervisors' dashboard: a line over time slots and bars.
// No library: each chart is redrawn whole from the figures the server sends.
"use strict";

window.DashCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const { t, num } = window.I18n;
  const int = (v) => num(v, { useGrouping: false });
  // The charts run left to right in every language; a label reads in its own direction
  // (Persian "۲ ث" right to left), so its anchor is the side it ends on in that direction.
  const DIR = window.I18n.dir;
  const END = DIR === "rtl" ? "start" : "end";
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

  // Y axes: from 0 in 2 to 5 equal steps up to the data's top, each step a round number, so
  // that no two labels read the same at any scale (a sub-second series gets 0, 1 s, 2 s
  // rather than "0 s" three times). Counts step in whole 1, 2, 5 × 10^n; durations (ms) in
  // steps a clock reads, labelled in one unit per axis.
  const MAX_STEPS = 5;
  const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;
  const CLOCK_STEPS = [
    ...[1, 2, 5, 10, 15, 30].map((n) => n * SEC),
    ...[1, 2, 5, 10, 15, 30].map((n) => n * MIN),
    ...[1, 2, 3, 6, 12].map((n) => n * HOUR),
  ];

  function countStep(top) {
    let p = 1;
    while (top > MAX_STEPS * 5 * p && p < 1e12) p *= 10;
    return [p, 2 * p, 5 * p].find((s) => top <= MAX_STEPS * s) || 10 * p;
  }

  const counts = { step: countStep, label: (v) => int(v) };
  const durations = {
    step: (top) => CLOCK_STEPS.find((s) => top <= MAX_STEPS * s) || DAY * countStep(top / DAY),
    label(v, top) {
      const [unit, name] = top < 2 * MIN ? [SEC, "dashboard.unit_s"] : top < 2 * HOUR ? [MIN, "dashboard.unit_m"]
        : top < 2 * DAY ? [HOUR, "dashboard.unit_h"] : [DAY, "dashboard.unit_d"];
      const n = v / unit;
      return v === 0 ? int(0) : t(name, { n: Number.isInteger(n) ? int(n) : num(n, { maximumFractionDigits: 1, minimumFractionDigits: 1, useGrouping: false }) });
    },
  };

  // Draws the grid and labels; returns the axis top the values are scaled to.
  function axes(svg, axis, max) {
    const step = axis.step(max);
    const n = Math.max(2, Math.ceil(max / step));
    const top = n * step;
    const y0 = H - PAD.b;
    for (let i = 0; i <= n; i++) {
      const y = y0 - (i / n) * (y0 - PAD.t);
      svg.append(el("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid-line" }));
      svg.append(el("text", { x: PAD.l - 4, y: y + 4, class: "axis", "text-anchor": END, direction: DIR }, axis.label(i * step, top)));
    }
    return top;
  }

  // points: [{t, value}] (value null: no sample); axis: counts or durations; tip formats a
  // point's value for its tooltip.
  function line(points, axis, tip, label, timeLabel) {
    const svg = frame(label);
    const values = points.map((p) => p.value).filter((v) => v !== null);
    const max = axes(svg, axis, Math.max(0, ...values));
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
      dot.append(el("title", {}, `${timeLabel(p.t)}: ${tip(p.value)}`));
      svg.append(dot);
    });
    for (const i of [0, Math.floor(points.length / 2), points.length - 1]) {
      if (points[i]) svg.append(el("text", { x: x(i), y: H - 6, class: "axis", "text-anchor": "middle", direction: DIR }, timeLabel(points[i].t)));
    }
    if (!values.length) svg.append(el("text", { x: W / 2, y: H / 2, class: "axis", "text-anchor": "middle", direction: DIR }, t("dashboard.no_samples")));
    return svg;
  }

  // bars: [{label, count, title}]
  function bars(items, label) {
    const svg = frame(label);
    const max = axes(svg, counts, Math.max(0, ...items.map((b) => b.count)));
    const slot = (W - PAD.l - PAD.r) / Math.max(1, items.length);
    items.forEach((b, i) => {
      const h = (b.count / max) * (H - PAD.b - PAD.t);
      const rect = el("rect", {
        x: PAD.l + i * slot + slot * 0.15, y: H - PAD.b - h, width: slot * 0.7, height: Math.max(0, h), class: "bar",
      });
      rect.append(el("title", {}, `${b.title}: ${int(b.count)}`));
      svg.append(rect);
      if (items.length <= 8 || i % 4 === 0) {
        svg.append(el("text", { x: PAD.l + i * slot + slot / 2, y: H - 6, class: "axis", "text-anchor": "middle", direction: DIR }, b.label));
      }
    });
    return svg;
  }

  return { line, bars, counts, durations };
})();
