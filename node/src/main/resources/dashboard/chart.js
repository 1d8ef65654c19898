// Small charts drawn as inline SVG, one unit a CSS pixel (the chart is drawn for its box's width),
// so text stays crisp at any size. Colours come from CSS classes (style.css): s-<series class>.

import { h } from './dom.js';

const HEIGHT = 130;
const PAD = { left: 44, right: 8, top: 10, bottom: 20 };

/** The least "round" number (1, 2, 2.5, 5 x 10^n) not below v. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(width, label) {
  return h('svg:svg', {
    class: 'chart', width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img', 'aria-label': label, focusable: 'false',
  });
}

function axes(svg, width, yMax, format, xLabels) {
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - f);
    svg.append(h('svg:line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: y, y2: y }));
    svg.append(h('svg:text', { class: 'tick', x: PAD.left - 4, y: y + 3, 'text-anchor': 'end' },
      f === 0 ? '0' : format(yMax * f)));
  }
  const [first, last] = xLabels;
  svg.append(h('svg:text', { class: 'tick', x: PAD.left, y: HEIGHT - 5 }, first));
  svg.append(h('svg:text', { class: 'tick', x: width - PAD.right, y: HEIGHT - 5,
    'text-anchor': 'end' }, last));
}

/**
 * Stacked bars, one per bucket: buckets [{label, values: [..]}], series [{name, cls}] in the
 * order of values.
 */
export function barChart(width, buckets, series, { label, format = String, xLabels, empty }) {
  const svg = frame(width, label);
  const totals = buckets.map((b) => b.values.reduce((a, v) => a + (v || 0), 0));
  // Counts: at least 0, 1, 2 on the axis, never a half job.
  const yMax = niceMax(Math.max(2, ...totals));
  axes(svg, width, yMax, format, xLabels);
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, slot * 0.7);
  if (totals.every((t) => t === 0)) emptyNote(svg, width, empty);
  buckets.forEach((b, i) => {
    const g = h('svg:g', {});
    let y = PAD.top + plotH;
    b.values.forEach((v, s) => {
      if (!v) return;
      const hgt = (v / yMax) * plotH;
      y -= hgt;
      g.append(h('svg:rect', { class: 'bar s-' + series[s].cls, x: PAD.left + i * slot +
        (slot - barW) / 2, y, width: barW, height: Math.max(1, hgt) }));
    });
    const parts = b.values.map((v, s) => (v || 0) + ' ' + series[s].name).join(', ');
    g.append(h('svg:title', {}, b.label + ': ' + parts));
    svg.append(g);
  });
  return svg;
}

/**
 * Lines, one per series [{name, cls, values: [number|null]}], over the buckets' labels; the axis
 * goes up to at least options.least.
 */
export function lineChart(width, labels, series, options) {
  const { label, format = String, xLabels, empty, least = 1 } = options;
  const svg = frame(width, label);
  const all = series.flatMap((s) => s.values).filter((v) => v != null);
  const yMax = niceMax(Math.max(least, ...all));
  axes(svg, width, yMax, format, xLabels);
  if (all.length === 0) emptyNote(svg, width, empty);
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, labels.length);
  const x = (i) => PAD.left + i * slot + slot / 2;
  const y = (v) => PAD.top + plotH * (1 - v / yMax);
  for (const s of series) {
    // A bucket without jobs has no value: the line breaks there instead of dropping to zero.
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v == null) {
        pen = false;
        return;
      }
      d += (pen ? ' L' : ' M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1);
      pen = true;
    });
    if (d) svg.append(h('svg:path', { class: 'line s-' + s.cls, d: d.trim() }));
    s.values.forEach((v, i) => {
      if (v == null) return;
      svg.append(h('svg:circle', { class: 'dot s-' + s.cls, cx: x(i), cy: y(v), r: 2.5 },
        h('svg:title', {}, labels[i] + ': ' + s.name + ' ' + format(v))));
    });
  }
  return svg;
}

function emptyNote(svg, width, text) {
  if (!text) return;
  svg.append(h('svg:text', { class: 'empty-note', x: PAD.left + (width - PAD.left - PAD.right) / 2,
    y: PAD.top + (HEIGHT - PAD.top - PAD.bottom) / 2, 'text-anchor': 'middle' }, text));
}

export function legend(series) {
  return h('ul', { class: 'legend' },
    series.map((s) => h('li', {}, h('span', { class: 'swatch s-' + s.cls, 'aria-hidden': 'true' }),
      s.name)));
}
