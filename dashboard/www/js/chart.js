// dashboard/www/js/chart.js — the clicks-and-opens-over-time chart, drawn
// as SVG elements (no library, no canvas): y grid with round ticks, a few
// time labels, one line per series, points with a <title> tooltip when
// there are few. Sized to its container; the caller redraws on resize.

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// 0, step, 2*step … ≥ max with a 1/2/5 step and about `n` ticks.
function ticks(max, n) {
  if (max <= 0) return [0, 1];
  const raw = max / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  // Counts are whole numbers: never a step below 1.
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw));
  const out = [];
  for (let v = 0; out.length === 0 || out[out.length - 1] < max; v += step) out.push(v);
  return out;
}

function label(iso, bucket) {
  const d = new Date(iso);
  if (bucket === 'day') return d.toLocaleDateString(undefined, {month: 'short', day: 'numeric'});
  const t = d.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'});
  return bucket === 'minute' ? t : d.toLocaleDateString(undefined, {day: 'numeric', month: 'short'}) + ' ' + t;
}

// series: [{key: 'click', name: 'Clicks'}, …]; timeline: [{time, click, open, …}].
export function drawChart(container, timeline, series, bucket) {
  while (container.firstChild) container.removeChild(container.firstChild);
  const width = Math.max(280, container.clientWidth || 600);
  const height = width < 500 ? 200 : 260;
  const pad = {l: 40, r: 12, t: 12, b: 28};
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const n = timeline.length;
  const max = Math.max(0, ...timeline.flatMap((p) => series.map((s) => p[s.key] || 0)));
  const ys = ticks(max, 4);
  const top = ys[ys.length - 1] || 1;
  const x = (i) => pad.l + (n <= 1 ? w / 2 : (i * w) / (n - 1));
  const y = (v) => pad.t + hgt - (v / top) * hgt;

  const total = series.map((s) => s.name + ' ' + timeline.reduce((a, p) => a + (p[s.key] || 0), 0));
  const svg = el('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
                         'aria-label': 'Chart of ' + total.join(', ') + ' per ' + bucket});
  const grid = el('g', {class: 'axis'});
  for (const v of ys) {
    grid.append(el('line', {class: 'grid', x1: pad.l, x2: pad.l + w, y1: y(v), y2: y(v)}));
    grid.append(el('text', {x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end'}, String(v)));
  }
  const labelWidth = bucket === 'hour' ? 150 : 80;  // "Nov 25 01:00 PM" vs "01:00 PM" / "Nov 25"
  const labels = Math.max(2, Math.min(n, Math.floor(w / labelWidth)));
  for (let k = 0; k < labels && n > 0; ++k) {
    const i = labels === 1 ? 0 : Math.round((k * (n - 1)) / (labels - 1));
    const anchor = k === 0 ? 'start' : k === labels - 1 ? 'end' : 'middle';
    grid.append(el('text', {x: x(i), y: height - 8, 'text-anchor': anchor},
                   label(timeline[i].time, bucket)));
  }
  svg.append(grid);
  for (const s of series) {
    const pts = timeline.map((p, i) => `${x(i).toFixed(1)},${y(p[s.key] || 0).toFixed(1)}`);
    if (s.key === 'click' && n > 1) {
      svg.append(el('polygon', {class: 'area-click',
                                points: `${x(0)},${y(0)} ${pts.join(' ')} ${x(n - 1)},${y(0)}`}));
    }
    svg.append(el('polyline', {class: 'line-' + s.key, points: pts.join(' ')}));
    if (n <= 72) {
      timeline.forEach((p, i) => {
        if (!p[s.key]) return;
        const dot = el('circle', {class: 'dot-' + s.key, cx: x(i), cy: y(p[s.key]), r: 3.5});
        dot.append(el('title', {}, `${label(p.time, bucket)}: ${p[s.key]} ${s.name.toLowerCase()}`));
        svg.append(dot);
      });
    }
  }
  container.append(svg);
}
