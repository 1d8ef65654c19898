// One job: its steps on a timeline (waiting, running, attempts, who answered, provider switches),
// errors, tokens and cost, the result as plain text, the running step's text as it streams in
// (delta events of the job's own event stream), and the actions Cancel and Retry.

import {
  h, fill, setText, badge, fmtInt, fmtTokens, fmtCost, fmtDuration, between, time,
  throttle, every, onWidthChange, TERMINAL, note,
} from './dom.js';
import { api, problem, openStream, setStatus, TRANSITIONS } from './api.js';
import { jobsHref } from './jobs.js';
import { timeline } from './timeline.js';

export function mount(main, route) {
  const id = route.id;
  document.title = 'Job · reportcluster';
  const ui = {
    title: h('h1', { tabindex: '-1', class: 'job-title' }, 'Job'),
    badge: h('span', { class: 'job-badge' }),
    cancel: h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel job'),
    retry: h('button', { type: 'button', class: 'primary', hidden: true }, 'Retry job'),
    message: h('p', { class: 'form-result', role: 'status', 'aria-live': 'polite' }),
    facts: h('dl', { class: 'facts' }),
    error: h('div', { class: 'job-error' }),
    timeline: h('div', { class: 'timeline-wrap' }),
    steps: h('ol', { class: 'steps' }),
    liveHead: h('h2', { id: 'live-title' }, 'Live output'),
    liveText: h('pre', { class: 'live-text', id: 'live-text', tabindex: '0' }),
    result: h('div', { class: 'result-wrap' }),
  };
  ui.live = h('section', { class: 'panel', 'aria-labelledby': 'live-title', hidden: true },
    h('div', { class: 'panel-head' }, ui.liveHead), ui.liveText);
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: jobsHref() }, '← Jobs')),
    h('div', { class: 'page-head job-head' }, ui.title, ui.badge,
      h('div', { class: 'actions' }, ui.cancel, ui.retry)),
    h('p', { class: 'muted mono small' }, 'Job ', id),
    ui.message,
    h('section', { class: 'panel', 'aria-labelledby': 'facts-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'facts-title' }, 'Summary')), ui.facts, ui.error),
    ui.live,
    h('section', { class: 'panel', 'aria-labelledby': 'steps-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'steps-title' }, 'Steps')),
      ui.timeline, ui.steps),
    h('section', { class: 'panel', 'aria-labelledby': 'result-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'result-title' }, 'Result')), ui.result),
  );

  let view = null;
  let stream = null;
  let gone = false;
  const live = { key: null, text: '' };

  const render = (v) => {
    if (!v || v.job_id !== id) return;
    view = v;
    document.title = v.startup + ' · reportcluster';
    setText(ui.title, v.startup);
    fill(ui.badge, badge(v.state));
    ui.cancel.hidden = TERMINAL.has(v.state);
    ui.retry.hidden = v.state !== 'FAILURE';
    renderFacts(ui.facts, v);
    fill(ui.error, v.error ? [h('h3', {}, 'Error'), h('pre', { class: 'error-text' }, v.error)] : [],
      runsList(v.runs));
    renderSteps(ui, v);
    renderResult(ui.result, v);
    if (TERMINAL.has(v.state)) {
      ui.live.hidden = true;
      closeStream('ended');
    } else {
      openIfNeeded();
    }
  };

  const load = async () => {
    const r = await api.job(id);
    if (gone) return;
    if (r.ok) return render(r.body);
    if (r.status === 404) {
      closeStream('idle');
      fill(ui.facts, note('No job with id ' + id + ' on this cluster.', 'error'));
    } else if (!view) {
      fill(ui.facts, note(problem(r, 'The job'), 'error'));
    }
  };
  const reload = throttle(load, 300);

  const onEvent = (name, ev) => {
    if (name === 'state') return render(ev);
    if (name === 'notice') return;
    if (name === 'delta') return showDelta(ui, live, ev);
    if (ev.state && view && ev.state !== view.state) fill(ui.badge, badge(ev.state));
    if (name === 'step_completed' || name === 'retry' || name === 'fallback') live.key = null;
    // The node ends the stream after a final event: closed here first, it is not reconnected.
    if (TERMINAL.has(ev.state)) closeStream('ended');
    reload();
  };
  function openIfNeeded() {
    if (stream || gone) return;
    setStatus('connecting');
    stream = openStream(api.jobEventsPath(id), ['state', 'notice', 'delta', ...TRANSITIONS],
      onEvent, setStatus);
  }
  function closeStream(status) {
    if (stream) stream.close();
    stream = null;
    setStatus(status);
  }

  ui.cancel.addEventListener('click', () => act(ui, () => api.cancel(id), 'Cancelled.', render,
    load));
  ui.retry.addEventListener('click', () => act(ui, () => api.retry(id),
    'Retrying from the failed step.', render, load));

  // Drawn for its box's width: drawn again when the box changes (rotation, window size).
  const stopWatching = onWidthChange(ui.timeline, () => view && renderSteps(ui, view));
  load();
  // The timeline grows while the job runs; the view is read again now and then in case a live
  // event was lost (the stream is best effort).
  const ticking = setInterval(() => view && !TERMINAL.has(view.state) && renderSteps(ui, view),
    1000);
  const stopPolling = every(5000, () => (view && !TERMINAL.has(view.state) ? load() : null));
  return () => {
    gone = true;
    stopWatching();
    clearInterval(ticking);
    stopPolling();
    reload.cancel();
    closeStream('idle');
  };
}

async function act(ui, call, done, render, load) {
  ui.cancel.disabled = true;
  ui.retry.disabled = true;
  const r = await call();
  ui.cancel.disabled = false;
  ui.retry.disabled = false;
  if (r.ok) {
    ui.message.className = 'form-result ok';
    setText(ui.message, done);
    if (r.body && r.body.job_id) render(r.body);
    else load();
  } else {
    ui.message.className = 'form-result error';
    setText(ui.message, r.status === 409 ? r.detail || 'Not possible in this state.'
      : problem(r, 'The action'));
    load();
  }
}

function fact(term, ...value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, ...value));
}

function renderFacts(el, v) {
  const u = v.usage || {};
  const chain = v.providers && v.providers.length ? v.providers : [v.provider];
  const w = v.waiting_for;
  fill(el,
    fact('State', badge(v.state), v.current_step && !TERMINAL.has(v.state)
      ? ' at step ' + v.current_step : ''),
    fact('Node', v.node || '–'),
    fact('Providers', chain.filter(Boolean).join(' → ') || '–'),
    fact('Submitted', time(v.submitted_at)),
    fact('Finished', v.finished_at ? time(v.finished_at) : 'not yet'),
    fact('Duration', fmtDuration(between(v.submitted_at, v.finished_at))),
    fact('Attempts', fmtInt(v.attempts)),
    fact('Tokens', fmtInt(u.input_tokens ?? 0) + ' in · ' + fmtInt(u.output_tokens ?? 0) + ' out'),
    fact('Cost', fmtCost(u.cost_usd ?? 0)),
    v.next_retry_at ? fact('Next try', time(v.next_retry_at)) : null,
    w ? fact('Waiting for', w.provider + ' ' + w.reason + ' budget', w.until ? [' until ',
      time(w.until)] : '') : null,
  );
}

/** A job retried after a FAILURE ran more than once: each run, when and how it ended. */
function runsList(runs) {
  if (!runs || runs.length < 2) return null;
  return [h('h3', {}, 'Runs'), h('ol', { class: 'runs' }, runs.map((r) => h('li', {},
    'Run ' + r.run + ': ', time(r.started_at), r.finished_at ? [' → ', time(r.finished_at)] : '',
    ' ', r.state ? badge(r.state) : h('span', { class: 'muted' }, 'running'),
    r.error ? h('span', { class: 'error-text small' }, ' ' + r.error) : null)))];
}

function renderSteps(ui, v) {
  const steps = v.steps || [];
  const width = Math.max(260, Math.floor(ui.timeline.clientWidth || 320));
  fill(ui.timeline, timeline(width, v));
  // Step items are rebuilt only when something but the clock changed.
  const key = JSON.stringify(steps);
  if (ui.steps.dataset.key === key) return;
  ui.steps.dataset.key = key;
  fill(ui.steps, steps.map((s, i) => stepItem(s, i === 0 ? v.submitted_at : steps[i - 1].finished_at)));
}

/** One step; queuedFrom: when it could start (the previous step's end, or the submit). */
function stepItem(s, queuedFrom) {
  const tried = s.providers_tried || [];
  const retries = Math.max(0, (s.attempts || 0) - 1);
  const u = s.usage;
  const bits = [
    s.attempts ? fmtInt(s.attempts) + (s.attempts === 1 ? ' attempt' : ' attempts') +
      (retries ? ' (' + retries + (retries === 1 ? ' retry)' : ' retries)') : '') : 'not started',
    s.provider ? 'answered by ' + s.provider + (s.model && s.model !== s.provider
      ? ' · ' + s.model : '') : null,
    tried.length > 1 ? 'switched ' + tried.join(' → ') : null,
    s.started_at && queuedFrom ? 'waited ' + fmtDuration(between(queuedFrom, s.started_at)) : null,
    s.duration_ms != null ? 'took ' + fmtDuration(s.duration_ms)
      : s.state === 'STARTED' && s.started_at ? 'running ' + fmtDuration(between(s.started_at)) : null,
    u ? fmtTokens(u.input_tokens) + ' in · ' + fmtTokens(u.output_tokens) + ' out · ' +
      fmtCost(u.cost_usd) : null,
  ].filter(Boolean);
  return h('li', { class: 'step', 'data-step': s.name },
    h('div', { class: 'step-head' }, h('span', { class: 'step-name' }, s.name), badge(s.state)),
    h('p', { class: 'step-facts' }, bits.join(' · ')),
    s.finish_reason && s.finish_reason !== 'STOP'
      ? h('p', { class: 'warn small' }, s.finish_reason === 'LENGTH'
        ? 'The answer was cut off at the maximum output tokens.' : 'Finished: ' + s.finish_reason)
      : null,
    s.last_error ? h('pre', { class: 'error-text small' },
      (s.state === 'SUCCESS' ? 'An earlier attempt failed: ' : 'Last error: ') + s.last_error)
      : null);
}

function showDelta(ui, live, ev) {
  const key = ev.current_step + '#' + ev.attempts;
  if (live.key !== key) {
    live.key = key;
    live.text = '';
    setText(ui.liveHead, 'Live output · ' + ev.current_step + ' (attempt ' + ev.attempts + ')');
  }
  live.text += ev.delta || '';
  ui.live.hidden = false;
  const pre = ui.liveText;
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8;
  pre.textContent = live.text;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function renderResult(el, v) {
  if (v.result != null && v.result !== '') {
    if (el.dataset.result === v.result) return;
    el.dataset.result = v.result;
    return fill(el, h('pre', { class: 'result', tabindex: '0' }, v.result));
  }
  delete el.dataset.result;
  fill(el, note(v.state === 'SUCCESS' ? 'The job succeeded without a result.'
    : TERMINAL.has(v.state) ? 'No result: the job ended with ' + v.state + '.'
      : 'The result appears when the last step completes.'));
}
