// Nodes: for each node of the cluster, the calls its callers are making (job, step, provider,
// since when) and the calls waiting in its queue (and what they wait for). Polled every 2 s.

import {
  h, fill, panel, note, meter, time, every, fmtInt, jobHref, shortId, between, fmtDuration,
} from './dom.js';
import { api, problem, setStatus } from './api.js';

export function mount(main) {
  document.title = 'Nodes · reportcluster';
  const summary = h('p', { class: 'subtitle', role: 'status' });
  const list = h('div', { class: 'nodes' });
  main.append(h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Nodes'), summary), list);

  const refresh = async () => {
    const [cl, own] = await Promise.all([api.cluster(), api.nodeCalls()]);
    if (!cl.ok) {
      fill(summary, problem(cl, 'The cluster view'));
      return;
    }
    const nodes = cl.body.nodes || [];
    const up = (cl.body.members || []).filter((m) => m.status === 'Up').length;
    fill(summary, fmtInt(nodes.length) + (nodes.length === 1 ? ' node' : ' nodes') + ' reporting · ' +
      fmtInt(up) + (up === 1 ? ' member' : ' members') + ' up');
    // Call details: each node's own (cluster view), else this node's from /api/v1/node/calls.
    const ownCalls = own.ok ? own.body : null;
    const shown = nodes.map((n) => ({ n, calls: callsOf(n, ownCalls) }));
    // Rebuilt only when a call or figure changed (a rebuild would take a focused link's focus);
    // the clocks of the calls tick in place.
    const key = JSON.stringify(shown.map(({ n, calls }) => [n.node, n.callers, n.in_flight,
      n.queue_depth, calls]));
    if (key !== list.dataset.key) {
      list.dataset.key = key;
      fill(list, shown.map(({ n, calls }) => nodePanel(n, calls, own)));
    }
    for (const el of list.querySelectorAll('[data-since]')) {
      el.textContent = fmtDuration(between(el.dataset.since));
    }
  };
  setStatus('refreshing');
  const stop = every(2000, refresh);
  return () => {
    stop();
    setStatus('idle');
  };
}

function callsOf(n, own) {
  if (n.calls && typeof n.calls === 'object') return n.calls;
  if (typeof n.calls === 'string') {
    try {
      return JSON.parse(n.calls);
    } catch {
      return null;
    }
  }
  return own && own.node === n.node ? own : null;
}

function nodePanel(n, calls, own) {
  const callers = Number(n.callers) || 0;
  const inFlight = Number(n.in_flight) || 0;
  const p = panel(String(n.node), 'node-' + String(n.node).replace(/[^A-Za-z0-9_-]/g, '_'),
    h('span', { class: 'hint' }, fmtInt(inFlight) + ' / ' + fmtInt(callers) + ' callers busy · ' +
      fmtInt(n.queue_depth) + ' queued'),
    meter(inFlight, callers, inFlight + ' of ' + callers + ' callers busy'));
  if (!calls) {
    fill(p.body, note(own.ok ? 'This node publishes no call details.'
      : problem(own, 'Call details (GET /api/v1/node/calls)')));
    return p.section;
  }
  const flying = calls.in_flight || [];
  const queued = calls.queued || [];
  const byProvider = Object.entries(calls.queue_by_provider || {});
  fill(p.body,
    h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
      h('caption', {}, 'In flight'),
      h('thead', {}, h('tr', {}, ['Job', 'Step', 'Provider', 'Attempt', 'Since']
        .map((c) => h('th', { scope: 'col', class: c === 'Attempt' ? 'num' : null }, c)))),
      h('tbody', {}, flying.length === 0 ? emptyRow(5, 'No call in flight.') : flying.map((c) =>
        h('tr', {},
          h('th', { scope: 'row', 'data-label': 'Job' }, jobLink(c.job_id)),
          h('td', { 'data-label': 'Step' }, stepName(c)),
          h('td', { 'data-label': 'Provider' }, c.provider || '–'),
          h('td', { 'data-label': 'Attempt', class: 'num' }, fmtInt(c.attempt)),
          h('td', { 'data-label': 'Since' }, time(c.started_at), ' ',
            h('span', { class: 'muted' }, '(', h('span', { 'data-since': c.started_at }), ')'))))))),
    h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
      h('caption', {}, 'Queue', byProvider.length ? h('span', { class: 'muted small' }, ' · ' +
        byProvider.map(([k, v]) => k + ' ' + v).join(', ')) : null,
      queued.length < Number(calls.queue_depth) ? h('span', { class: 'muted small' },
        ' · the first ' + queued.length + ' of ' + fmtInt(calls.queue_depth) + ' shown') : null),
      h('thead', {}, h('tr', {}, ['Job', 'Step', 'Provider', 'Queued', 'Waiting for']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, queued.length === 0 ? emptyRow(5, 'Nothing queued.') : queued.map((c) =>
        h('tr', {},
          h('th', { scope: 'row', 'data-label': 'Job' }, jobLink(c.job_id)),
          h('td', { 'data-label': 'Step' }, stepName(c)),
          h('td', { 'data-label': 'Provider' }, c.provider || '–'),
          h('td', { 'data-label': 'Queued' }, h('span', { 'data-since': c.queued_at }), ' ago'),
          h('td', { 'data-label': 'Waiting for' }, waiting(c.waiting_for))))))),
  );
  return p.section;
}

function emptyRow(span, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: span }, text));
}

function jobLink(id) {
  return h('a', { href: jobHref(id), class: 'mono' }, shortId(id));
}

function stepName(c) {
  return (c.step_name || '') + (c.step != null ? ' (' + (Number(c.step) + 1) + ')' : '');
}

function waiting(w) {
  if (!w) return 'a caller';
  if (typeof w === 'string') return w;
  const what = [w.provider, w.reason].filter(Boolean).join(' ') || 'budget';
  return w.until ? [what + ' until ', time(w.until)] : what;
}
