// Building the page. Server text (a job's startup is user input) only ever becomes text nodes or
// attribute values here: nothing is parsed as HTML, there is no innerHTML anywhere.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('a', {href, class}, child, ...) makes an element; 'svg:rect' makes an SVG one. Props: on<event>
 * adds a listener, text sets the text, null/false props are left out; children are nodes or text.
 */
export function h(tag, props, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'style' || k === 'innerHTML') throw new Error('h(): ' + k + ' is not allowed');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Fills el from build() only when key differs from the last fill's: a rebuild would take the focus
 * from a link inside, so unchanged content stays as it is.
 */
export function fillKeyed(el, key, build) {
  const k = typeof key === 'string' ? key : JSON.stringify(key);
  if (el.dataset.key === k) return;
  el.dataset.key = k;
  fill(el, build());
}

export function setText(el, text) {
  const s = text == null ? '' : String(text);
  if (el.textContent !== s) el.textContent = s;
}

export const STATES = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'];
export const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export function badge(state) {
  return h('span', { class: 'badge s-' + String(state || 'unknown').toLowerCase() }, state || '?');
}

export function jobHref(id) {
  return '#/jobs/' + encodeURIComponent(id);
}

export function shortId(id) {
  return String(id || '').slice(0, 8);
}

const intFormat = new Intl.NumberFormat('en-US');

export function fmtInt(n) {
  return n == null || Number.isNaN(Number(n)) ? '–' : intFormat.format(Number(n));
}

export function fmtTokens(n) {
  if (n == null) return '–';
  const v = Number(n);
  if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
  if (v >= 1e4) return (v / 1e3).toFixed(v >= 1e5 ? 0 : 1) + 'k';
  return intFormat.format(v);
}

export function fmtCost(usd) {
  if (usd == null) return '–';
  const v = Number(usd);
  if (v === 0) return '$0';
  if (v < 0.01) return '$' + v.toFixed(4);
  return '$' + v.toFixed(v < 100 ? 2 : 0);
}

export function fmtDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return '–';
  const v = Math.max(0, Number(ms));
  if (v < 1000) return Math.round(v) + ' ms';
  if (v < 60_000) return (v / 1000).toFixed(v < 10_000 ? 1 : 0) + ' s';
  const s = Math.round(v / 1000);
  if (s < 3600) return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  const m = Math.floor(s / 60);
  return Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
}

/** A duration in a few characters, for a chart's axis: 850 ms, 12 s, 1.5 min, 2 h. */
export function fmtDurationShort(ms) {
  const v = Math.max(0, Number(ms) || 0);
  const short = (x) => String(Number(x.toFixed(x < 10 ? 1 : 0)));
  if (v < 1000) return Math.round(v) + ' ms';
  if (v < 60_000) return short(v / 1000) + ' s';
  if (v < 3_600_000) return short(v / 60_000) + ' min';
  return short(v / 3_600_000) + ' h';
}

export function millis(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : t;
}

/** From one instant to another (or to now, while it runs). */
export function between(fromIso, toIso) {
  const from = millis(fromIso);
  if (from == null) return null;
  const to = millis(toIso);
  return (to == null ? Date.now() : to) - from;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

/** A <time> with the local time (the date too when not today) and the exact instant as title. */
export function time(iso) {
  const t = millis(iso);
  if (t == null) return h('span', { class: 'muted' }, '–');
  const d = new Date(t);
  const today = new Date().toDateString() === d.toDateString();
  return h('time', { datetime: iso, title: d.toISOString() },
    today ? timeFormat.format(d) : dateTimeFormat.format(d));
}

export function ago(iso) {
  const ms = between(iso, null);
  if (ms == null) return '–';
  return fmtDuration(ms) + ' ago';
}

/**
 * A horizontal bar for value out of max, labelled with the figures (for screen readers); a budget
 * 90 % used shows red, a busy caller pool does not (busy is what callers are for).
 */
export function meter(value, max, label, { budget = false } = {}) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  const bar = h('span', { class: 'meter-fill' + (budget && share >= 0.9 ? ' hot' : '') });
  bar.style.width = (share * 100).toFixed(1) + '%';
  return h('span', { class: 'meter', role: 'img', 'aria-label': label }, bar);
}

/** Calls fn (later, once) whenever el's width changes: charts are drawn for their box's width. */
export function onWidthChange(el, fn) {
  let width = el.clientWidth;
  const later = debounce(fn, 100);
  const observer = new ResizeObserver(() => {
    if (el.clientWidth === width) return;
    width = el.clientWidth;
    later();
  });
  observer.observe(el);
  return () => {
    observer.disconnect();
    later.cancel();
  };
}

/** Calls fn at most once per wait ms, at the end of a burst of calls. */
export function debounce(fn, wait) {
  let timer = null;
  const run = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, wait);
  };
  run.cancel = () => clearTimeout(timer);
  return run;
}

/** Calls fn at most once per wait ms, however often it is asked (live events come in bursts). */
export function throttle(fn, wait) {
  let timer = null;
  let last = 0;
  const run = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, Math.max(0, last + wait - Date.now()));
  };
  run.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return run;
}

/** Runs fn now and every ms while the page is mounted and visible; returns the stop. */
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) await fn();
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** A section with a heading, and a body the page fills. */
export function panel(title, id, ...extra) {
  const body = h('div', { class: 'panel-body' });
  const heading = h('h2', { id: id + '-title' }, title);
  const section = h('section', { class: 'panel', id, 'aria-labelledby': id + '-title' },
    h('div', { class: 'panel-head' }, heading, ...extra), body);
  return { section, body, heading };
}

export function note(text, kind = 'muted') {
  return h('p', { class: 'note ' + kind }, text);
}
