// A job's steps on one time axis, from its submit to its end (or now): for each step the time it
// waited (for a caller, budget or a backoff) and the time its last attempt ran, coloured by the
// step's state, with its attempts written beside it.

import { h, fmtDuration, millis } from './dom.js';

const ROW = 24;
const LABEL = 96;
const AXIS = 18;

export function timeline(width, v) {
  const steps = v.steps || [];
  const start = millis(v.submitted_at) ?? Date.now();
  const end = Math.max(start + 1, millis(v.finished_at) ?? Date.now());
  const height = steps.length * ROW + AXIS;
  const plot = Math.max(40, width - LABEL - 44);
  const x = (t) => LABEL + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * plot;
  const svg = h('svg:svg', {
    class: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    focusable: 'false', 'aria-label': 'Timeline of ' + steps.length + ' steps over ' +
      fmtDuration(end - start) + ' (details in the list below)',
  });
  svg.append(h('svg:line', { class: 'grid', x1: LABEL, x2: LABEL + plot, y1: height - AXIS,
    y2: height - AXIS }));
  svg.append(h('svg:text', { class: 'tick', x: LABEL, y: height - 5 }, '0 s'));
  svg.append(h('svg:text', { class: 'tick', x: LABEL + plot, y: height - 5, 'text-anchor': 'end' },
    fmtDuration(end - start)));
  let previousEnd = start;
  steps.forEach((s, i) => {
    const y = i * ROW + 4;
    const g = h('svg:g', {});
    g.append(h('svg:text', { class: 'step-label', x: 0, y: y + 12 }, s.name));
    const began = millis(s.started_at);
    const finished = millis(s.finished_at);
    if (began != null) {
      // Waiting: from the previous step's end (or the submit) to this step's last start.
      if (began > previousEnd) {
        g.append(h('svg:rect', { class: 'wait', x: x(previousEnd), y: y + 4, height: 8,
          width: Math.max(1, x(began) - x(previousEnd)) }));
      }
      const stop = finished ?? (TERMINAL_STATES.has(v.state) ? end : Date.now());
      g.append(h('svg:rect', { class: 'run s-' + String(s.state).toLowerCase(), x: x(began),
        y: y + 1, height: 14, rx: 2, width: Math.max(2, x(stop) - x(began)) }));
      if (s.attempts > 1) {
        g.append(h('svg:text', { class: 'tick', x: Math.min(x(stop) + 4, width - 30), y: y + 12 },
          '×' + s.attempts));
      }
      previousEnd = finished ?? previousEnd;
    } else if (s.name === v.current_step && !TERMINAL_STATES.has(v.state)) {
      // The step to run next, not started yet: waiting for a caller, budget or a backoff.
      g.append(h('svg:rect', { class: 'wait now', x: x(previousEnd), y: y + 4, height: 8,
        width: Math.max(1, x(end) - x(previousEnd)) }));
    }
    const what = s.name + ': ' + s.state + (s.attempts ? ', ' + s.attempts + ' attempt(s)' : '') +
      (s.provider ? ', answered by ' + s.provider : '') +
      (s.duration_ms != null ? ', ' + fmtDuration(s.duration_ms) : '');
    g.append(h('svg:title', {}, what));
    svg.append(g);
  });
  return svg;
}

const TERMINAL_STATES = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
