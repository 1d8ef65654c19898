// Overview: the cluster at a glance. Members and each node's callers, calls in flight and queue;
// jobs per state; throughput and latency over the last 15 minutes; each provider's budget, tokens
// and cost. Polled every 5 s, and sooner after job events.

import {
  h, fill, fillKeyed, panel, note, meter, time, ago, every, fmtInt, fmtTokens, fmtCost,
  fmtDuration, fmtDurationShort, STATES, millis, throttle, onWidthChange,
} from './dom.js';
import { api, problem, onJobEvents } from './api.js';
import { barChart, lineChart, legend } from './chart.js';

const MINUTES = 15;

export function mount(main) {
  document.title = 'Overview · reportcluster';
  const health = h('p', { class: 'subtitle', role: 'status' });
  const tiles = h('div', { class: 'tiles' });
  const states = panel('Jobs by state', 'ov-states');
  const throughput = panel('Throughput', 'ov-throughput', h('span', { class: 'hint' },
    'jobs finished per minute, last ' + MINUTES + ' min'));
  const latency = panel('Latency', 'ov-latency', h('span', { class: 'hint' },
    'job duration, last ' + MINUTES + ' min'));
  const cluster = panel('Cluster', 'ov-cluster', h('a', { href: '#/nodes' }, 'Calls by node'));
  const providers = panel('Providers', 'ov-providers');
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Overview'), health),
    tiles,
    h('div', { class: 'grid' }, states.section, throughput.section, latency.section),
    cluster.section,
    providers.section,
  );

  let last = {};
  const draw = () => {
    renderCharts(throughput.body, latency.body, last.stats);
  };

  const refresh = async () => {
    const [hl, cl, js, st, pr] = await Promise.all([
      api.health(), api.cluster(), api.jobs({ limit: 1 }), api.stats(MINUTES), api.providers(),
    ]);
    last = { stats: st };
    renderHealth(health, hl);
    renderTiles(tiles, cl, js, st);
    renderStates(states.body, js);
    draw();
    renderCluster(cluster.body, cl);
    renderProviders(providers.body, pr, st);
  };

  const soon = throttle(refresh, 2000);
  const stopPolling = every(5000, refresh);
  const unsubscribe = onJobEvents(() => soon());
  const stopWatching = onWidthChange(throughput.body, draw);
  return () => {
    stopPolling();
    unsubscribe();
    soon.cancel();
    stopWatching();
  };
}

function renderHealth(el, r) {
  if (!r.ok) return fill(el, problem(r, 'Health'));
  const b = r.body;
  fill(el, 'Node ', h('strong', {}, b.node), ' · ', b.status === 'ok' ? 'healthy' : b.status,
    ' · Redis ', b.redis, ' · live events ', b.live_events, ' · rate limits ', b.rate_limits);
}

function num(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function tile(label, value, sub, href) {
  const body = [h('span', { class: 'tile-value' }, value), h('span', { class: 'tile-label' }, label),
    sub ? h('span', { class: 'tile-sub' }, sub) : null];
  return href ? h('a', { class: 'tile', href }, body) : h('div', { class: 'tile' }, body);
}

function renderTiles(el, cl, js, st) {
  const nodes = cl.ok ? cl.body.nodes || [] : [];
  const callers = nodes.reduce((a, n) => a + num(n.callers), 0);
  const inFlight = nodes.reduce((a, n) => a + num(n.in_flight), 0);
  const queued = nodes.reduce((a, n) => a + num(n.queue_depth), 0);
  const counts = js.ok ? js.body.counts || {} : null;
  const running = counts ? num(counts.PENDING) + num(counts.STARTED) + num(counts.RETRY) : null;
  const sums = { succeeded: 0, failed: 0, revoked: 0 };
  if (st.ok) for (const b of st.body.jobs || []) for (const k in sums) sums[k] += num(b[k]);
  const key = [cl.ok, inFlight, callers, queued, nodes.length, counts, st.ok && sums];
  fillKeyed(el, key, () => [
    tile('jobs active', counts ? fmtInt(running) : '–', counts ? 'pending, started, retry' :
      'job list not available', '#/jobs?state=PENDING,STARTED,RETRY'),
    tile('succeeded', st.ok ? fmtInt(sums.succeeded) : '–', 'last ' + MINUTES + ' min'),
    tile('failed', st.ok ? fmtInt(sums.failed) : '–', 'last ' + MINUTES + ' min',
      '#/jobs?state=FAILURE'),
    tile('calls in flight', cl.ok ? fmtInt(inFlight) + ' / ' + fmtInt(callers) : '–',
      nodes.length + (nodes.length === 1 ? ' node' : ' nodes'), '#/nodes'),
    tile('queued calls', cl.ok ? fmtInt(queued) : '–', 'waiting for a caller or budget',
      '#/nodes'),
  ]);
}

function renderStates(el, r) {
  if (!r.ok) return fillKeyed(el, 'x', () => note(problem(r, 'The job list (GET /api/v1/jobs)')));
  const counts = r.body.counts || {};
  const total = STATES.reduce((a, s) => a + num(counts[s]), 0);
  fillKeyed(el, [counts, r.body.total], () => [
    h('ul', { class: 'state-counts' }, STATES.map((s) => h('li', {},
      h('a', { href: '#/jobs?state=' + s, class: 'state-count' },
        h('span', { class: 'badge s-' + s.toLowerCase() }, s),
        h('span', { class: 'count' }, fmtInt(counts[s] || 0)))))),
    h('p', { class: 'muted' }, fmtInt(r.body.total ?? total),
      (r.body.total ?? total) === 1 ? ' job in all' : ' jobs in all'),
  ]);
}

/** The window's buckets in time order, one per bucket_seconds, empty ones filled in. */
function buckets(stats, key) {
  const size = num(stats.bucket_seconds) * 1000 || 60_000;
  const given = (stats[key] || []).map((b) => ({ ...b, t: millis(b.start) }));
  const end = Math.floor(Date.now() / size) * size;
  const slots = [];
  for (let i = MINUTES * 60_000 / size - 1; i >= 0; i--) slots.push({ t: end - i * size });
  const byTime = new Map(slots.map((s) => [s.t, s]));
  let placed = 0;
  for (const b of given) {
    const slot = byTime.get(Math.floor(b.t / size) * size);
    if (slot) {
      Object.assign(slot, b, { t: slot.t });
      placed++;
    }
  }
  // Clocks that disagree by more than a bucket: show the node's buckets as they are.
  return placed === 0 && given.length > 0 ? given : slots;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

function renderCharts(tEl, lEl, r) {
  if (!r) return;
  if (!r.ok) {
    fill(tEl, note(problem(r, 'Statistics (GET /api/v1/stats)')));
    fill(lEl, note(problem(r, 'Statistics (GET /api/v1/stats)')));
    return;
  }
  const b = buckets(r.body, 'jobs');
  const labels = b.map((x) => clock.format(new Date(x.t)));
  const xLabels = [labels[0] || '', 'now'];
  const width = Math.max(220, Math.floor(tEl.clientWidth || 300));
  const done = b.reduce((a, x) => a + num(x.succeeded) + num(x.failed) + num(x.revoked), 0);
  const series = [
    { name: 'succeeded', cls: 'success' },
    { name: 'failed', cls: 'failure' },
    { name: 'revoked', cls: 'revoked' },
  ];
  fill(tEl,
    barChart(width, b.map((x, i) => ({ label: labels[i],
      values: [num(x.succeeded), num(x.failed), num(x.revoked)] })), series,
    { label: done + ' jobs finished in the last ' + MINUTES + ' minutes', xLabels,
      empty: 'no job finished in this window' }),
    legend(series));
  const avg = b.map((x) => (x.avg_duration_ms == null ? null : num(x.avg_duration_ms)));
  const max = b.map((x) => (x.max_duration_ms == null ? null : num(x.max_duration_ms)));
  const peak = Math.max(0, ...max.filter((v) => v != null));
  const lines = [
    { name: 'average', cls: 'avg', values: avg },
    { name: 'longest', cls: 'max', values: max },
  ];
  fill(lEl,
    lineChart(width, labels, lines, { label: 'Longest job in the last ' + MINUTES + ' minutes: ' +
      fmtDuration(peak), format: fmtDurationShort, xLabels, least: 1000,
    empty: 'no job finished in this window' }),
    legend(lines));
}

function renderCluster(el, r) {
  if (!r.ok) return fill(el, note(problem(r, 'The cluster view')));
  const members = r.body.members || [];
  const nodes = r.body.nodes || [];
  fill(el,
    h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
      h('caption', {}, 'Nodes'),
      h('thead', {}, h('tr', {}, ['Node', 'Callers', 'In flight', 'Queue', 'Busy', 'Seen']
        .map((c, i) => h('th', { scope: 'col', class: i >= 1 && i <= 3 ? 'num' : null }, c)))),
      h('tbody', {}, nodes.length === 0 ? h('tr', {}, h('td', { colspan: 6 }, 'No node figures.'))
        : nodes.map((n) => {
          const callers = num(n.callers);
          const busy = num(n.in_flight);
          const beat = num(n.heartbeat);
          return h('tr', {},
            h('th', { scope: 'row', 'data-label': 'Node' }, n.node),
            h('td', { 'data-label': 'Callers', class: 'num' }, fmtInt(callers)),
            h('td', { 'data-label': 'In flight', class: 'num' }, fmtInt(busy)),
            h('td', { 'data-label': 'Queue', class: 'num' }, fmtInt(n.queue_depth),
              n.queue_limit ? h('span', { class: 'muted' }, ' / ' + fmtInt(n.queue_limit)) : null),
            h('td', { 'data-label': 'Busy' }, meter(busy, callers,
              busy + ' of ' + callers + ' callers busy')),
            h('td', { 'data-label': 'Seen' }, beat ? ago(new Date(beat).toISOString()) : 'now'));
        })))),
    h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
      h('caption', {}, 'Members (as node ' + (r.body.self || '') + ' sees them)'),
      h('thead', {}, h('tr', {}, ['Address', 'Status', 'Roles']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, members.map((m) => h('tr', {},
        h('th', { scope: 'row', 'data-label': 'Address' }, m.address),
        h('td', { 'data-label': 'Status' }, h('span', { class: 'member m-' +
          String(m.status).toLowerCase() }, m.status)),
        h('td', { 'data-label': 'Roles' }, (m.roles || []).join(', ') || '–')))))),
  );
}

function renderProviders(el, r, stats) {
  if (!r.ok) return fill(el, note(problem(r, 'Provider budgets (GET /api/v1/providers)')));
  const used = new Map();
  if (stats.ok) {
    for (const p of stats.body.providers || []) {
      const u = used.get(p.provider) || { steps: 0, input: 0, output: 0, cost: 0 };
      u.steps += num(p.steps);
      u.input += num(p.input_tokens);
      u.output += num(p.output_tokens);
      u.cost += num(p.cost_usd);
      used.set(p.provider, u);
    }
  }
  const list = r.body.providers || [];
  fill(el, h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
    h('caption', { class: 'sr-only' }, 'Providers'),
    h('thead', {}, h('tr', {}, ['Provider', 'Requests in window', 'Tokens in window', 'Cooldown',
      'Tokens (' + MINUTES + ' min)', 'Cost (' + MINUTES + ' min)']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, list.length === 0 ? h('tr', {}, h('td', { colspan: 6 }, 'No provider.'))
      : list.map((p) => providerRow(p, used.get(p.name)))))));
}

function budgetCell(label, inWindow, limit, unit) {
  const v = num(inWindow);
  const max = num(limit);
  if (!max) return h('td', { 'data-label': label }, fmtTokens(v), h('span', { class: 'muted' },
    ' (no limit)'));
  return h('td', { 'data-label': label }, fmtTokens(v) + ' / ' + fmtTokens(max) + ' ' + unit,
    meter(v, max, fmtInt(v) + ' of ' + fmtInt(max) + ' ' + unit, { budget: true }));
}

function providerRow(p, u) {
  const limits = p.limits || {};
  const budget = p.budget || {};
  const cooling = millis(budget.cooldown_until);
  return h('tr', {},
    h('th', { scope: 'row', 'data-label': 'Provider' }, h('span', { class: 'provider' }, p.name),
      h('span', { class: 'muted small' }, ' ', [...new Set([p.type, p.model].filter(Boolean))]
        .join(' · ')),
      budget.mode ? h('span', { class: 'muted small' }, ' · budget ' + budget.mode) : null),
    budgetCell('Requests in window', budget.requests_in_window, limits.rpm, 'req'),
    budgetCell('Tokens in window', budget.tokens_in_window, limits.tpm, 'tok'),
    h('td', { 'data-label': 'Cooldown' }, cooling && cooling > Date.now()
      ? h('span', { class: 'warn' }, 'until ', time(budget.cooldown_until)) : '–'),
    h('td', { 'data-label': 'Tokens (' + MINUTES + ' min)' }, u ? fmtTokens(u.input) + ' in · ' +
      fmtTokens(u.output) + ' out' : '–'),
    h('td', { 'data-label': 'Cost (' + MINUTES + ' min)' }, u ? fmtCost(u.cost) : '–'));
}
