// Jobs: the history table with state chips, a search by startup, a provider filter and cursor
// paging, a submit form, kept up to date by live events. Rows are kept per job and patched in
// place, so a refresh never takes the reader's focus or scroll position; the filters and the page
// survive a visit to a job and back.

import {
  h, fill, append, setText, badge, jobHref, shortId, fmtInt, fmtTokens, fmtCost, fmtDuration, between,
  time, debounce, throttle, every, STATES, TERMINAL,
} from './dom.js';
import { api, problem, onJobEvents } from './api.js';

const PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 100;
const COLUMNS = ['ID', 'Startup', 'State', 'Providers', 'Steps', 'Tokens', 'Cost', 'Node',
  'Submitted', 'Duration'];
const NUMERIC = new Set(['Steps', 'Tokens', 'Cost', 'Duration']);

// Where the reader is: kept while the module lives (the whole visit), so back from a job page
// lands on the same filters and page.
const place = { states: [], q: '', provider: '', limit: PAGE_SIZE, cursors: [null] };

function fromQuery(query) {
  const states = (query.get('state') || '').split(',').filter((s) => STATES.includes(s));
  const q = query.get('q') || '';
  const provider = query.get('provider') || '';
  const asked = parseInt(query.get('limit'), 10);
  const limit = asked > 0 ? Math.min(asked, MAX_PAGE_SIZE) : PAGE_SIZE;
  const same = states.join() === place.states.join() && q === place.q &&
    provider === place.provider && limit === place.limit;
  if (!same) Object.assign(place, { states, q, provider, limit, cursors: [null] });
}

/** The Jobs page as the reader left it (its filters; the page is kept with them). */
export function jobsHref() {
  const q = new URLSearchParams();
  if (place.states.length) q.set('state', place.states.join(','));
  if (place.q) q.set('q', place.q);
  if (place.provider) q.set('provider', place.provider);
  if (place.limit !== PAGE_SIZE) q.set('limit', place.limit);
  const s = q.toString().replace(/%2C/g, ',');
  return '#/jobs' + (s ? '?' + s : '');
}

function toHash() {
  // replaceState: the address follows the filters without a new route (and no remount).
  history.replaceState(null, '', jobsHref());
}

export function mount(main, route) {
  document.title = 'Jobs · reportcluster';
  fromQuery(route.query);

  const ui = buildPage(main);
  const rows = new Map();
  let seq = 0;

  const refresh = async () => {
    const mine = ++seq;
    const filters = { state: place.states, q: place.q.trim(), provider: place.provider,
      limit: place.limit, cursor: place.cursors[place.cursors.length - 1] };
    ui.table.setAttribute('aria-busy', 'true');
    const r = await api.jobs(filters);
    if (mine !== seq) return; // a newer request is on its way
    ui.table.setAttribute('aria-busy', 'false');
    if (!r.ok) {
      setText(ui.status, problem(r, 'The job history (GET /api/v1/jobs)'));
      ui.status.className = 'note error';
      return;
    }
    ui.status.className = 'note muted';
    setText(ui.status, lagText(r.body.lag_ms));
    renderChips(ui.chips, r.body.counts || {}, r.body.total);
    renderRows(ui.tbody, rows, r.body.jobs || []);
    const page = place.cursors.length;
    ui.prev.disabled = page <= 1;
    ui.next.disabled = !r.body.next_cursor;
    ui.next.dataset.cursor = r.body.next_cursor || '';
    setText(ui.pageNo, 'Page ' + page);
  };

  const soon = throttle(refresh, 1000);
  const filtersChanged = () => {
    place.cursors = [null];
    toHash();
    refresh();
  };
  const typed = debounce(filtersChanged, 300);

  ui.chips.addEventListener('click', (e) => {
    const chip = e.target.closest('button[data-state]');
    if (!chip) return;
    const s = chip.dataset.state;
    if (!s) place.states = [];
    else if (place.states.includes(s)) place.states = place.states.filter((x) => x !== s);
    else place.states = STATES.filter((x) => x === s || place.states.includes(x));
    filtersChanged();
  });
  ui.search.value = place.q;
  ui.search.addEventListener('input', () => {
    place.q = ui.search.value;
    typed();
  });
  ui.providerFilter.addEventListener('change', () => {
    place.provider = ui.providerFilter.value;
    filtersChanged();
  });
  ui.prev.addEventListener('click', () => {
    if (place.cursors.length > 1) place.cursors.pop();
    refresh();
  });
  ui.next.addEventListener('click', () => {
    if (ui.next.dataset.cursor) place.cursors.push(ui.next.dataset.cursor);
    refresh();
  });
  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(ui, refresh);
  });

  loadProviders(ui);

  // A row's state changes at once; counts, steps, tokens and new jobs come with the next refresh
  // (at most one a second, however many events arrive).
  const unsubscribe = onJobEvents((name, ev) => {
    const row = rows.get(ev.job_id);
    if (row && ev.state) patchState(row, ev.state);
    if (row || name === 'submitted' || TERMINAL.has(ev.state)) soon();
  });
  const stopPolling = every(10_000, refresh);
  const ticking = setInterval(() => rows.forEach(tickDuration), 1000);
  return () => {
    unsubscribe();
    stopPolling();
    clearInterval(ticking);
    soon.cancel();
    typed.cancel();
  };
}

function lagText(lag) {
  return lag > 2000 ? 'The history is ' + fmtDuration(lag) + ' behind the jobs.' : '';
}

function buildPage(main) {
  const ui = {};
  ui.startup = h('input', { id: 'submit-startup', name: 'startup', type: 'text', required: true,
    maxlength: 200, autocomplete: 'off', placeholder: 'e.g. TeslaAI' });
  ui.provider = h('select', { id: 'submit-provider', name: 'provider' },
    h('option', { value: '' }, 'default'));
  ui.submitButton = h('button', { type: 'submit', class: 'primary' }, 'Submit job');
  ui.submitResult = h('p', { class: 'form-result', role: 'status', 'aria-live': 'polite' });
  ui.form = h('form', { class: 'submit-form', 'aria-label': 'Submit a job' },
    h('div', { class: 'field grow' }, h('label', { for: 'submit-startup' }, 'Startup'), ui.startup),
    h('div', { class: 'field' }, h('label', { for: 'submit-provider' }, 'Provider'), ui.provider),
    h('div', { class: 'field' }, ui.submitButton));
  ui.chips = h('div', { class: 'chips', role: 'group', 'aria-label': 'Filter by state' });
  ui.search = h('input', { id: 'job-search', type: 'search', name: 'q', autocomplete: 'off',
    placeholder: 'startup contains…' });
  ui.providerFilter = h('select', { id: 'job-provider', name: 'provider-filter' },
    h('option', { value: '' }, 'all providers'));
  ui.status = h('p', { class: 'note muted', role: 'status' });
  ui.tbody = h('tbody', {});
  ui.prev = h('button', { type: 'button', disabled: true }, '← Previous');
  ui.next = h('button', { type: 'button', disabled: true }, 'Next →');
  ui.pageNo = h('span', { class: 'muted' }, 'Page 1');
  ui.table = h('table', { class: 'cards jobs', id: 'jobs-table', 'aria-busy': 'true' },
    h('caption', { class: 'sr-only' }, 'Jobs, newest first'),
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col',
      class: NUMERIC.has(c) ? 'num' : null }, c)))), ui.tbody);
  main.append(
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Jobs')),
    h('section', { class: 'panel' }, ui.form, ui.submitResult),
    h('div', { class: 'filters' }, ui.chips,
      h('div', { class: 'field' }, h('label', { for: 'job-search' }, 'Search'), ui.search),
      h('div', { class: 'field' }, h('label', { for: 'job-provider' }, 'Provider'),
        ui.providerFilter)),
    ui.status,
    h('div', { class: 'table-wrap' }, ui.table),
    h('nav', { class: 'pager', 'aria-label': 'Pages of jobs' }, ui.prev, ui.pageNo, ui.next),
  );
  return ui;
}

async function loadProviders(ui) {
  const r = await api.providers();
  if (!r.ok) return;
  for (const p of r.body.providers || []) {
    ui.provider.append(h('option', { value: p.name }, p.name));
    ui.providerFilter.append(h('option', { value: p.name }, p.name));
  }
  // A filter from the address (or kept from before) that the list just gained.
  ui.providerFilter.value = place.provider;
}

async function submit(ui, refresh) {
  const startup = ui.startup.value.trim();
  if (!startup) return;
  ui.submitButton.disabled = true;
  const r = await api.submit(startup, ui.provider.value || null);
  ui.submitButton.disabled = false;
  if (!r.ok) {
    ui.submitResult.className = 'form-result error';
    fill(ui.submitResult, problem(r, 'Not submitted'));
    return;
  }
  const id = r.body.job_id;
  ui.startup.value = '';
  ui.submitResult.className = 'form-result ok';
  fill(ui.submitResult, r.body.created === false ? 'Already submitted: ' : 'Submitted: ',
    h('a', { href: jobHref(id) }, startup), ' ', h('code', {}, shortId(id)));
  refresh();
}

function renderChips(el, counts, total) {
  const all = total ?? STATES.reduce((a, s) => a + Number(counts[s] || 0), 0);
  const chip = (state, label, count) => {
    const pressed = state ? place.states.includes(state) : place.states.length === 0;
    return h('button', { type: 'button', class: 'chip' + (state ? ' s-' + state.toLowerCase() : ''),
      'data-state': state, 'aria-pressed': String(pressed) },
    label, ' ', h('span', { class: 'count' }, fmtInt(count)));
  };
  const wanted = [chip('', 'All', all), ...STATES.map((s) => chip(s, s, counts[s] || 0))];
  // Same chips again: only their text and pressed state change, so a focused chip keeps focus.
  const existing = el.querySelectorAll('button');
  if (existing.length !== wanted.length) return fill(el, wanted);
  wanted.forEach((w, i) => {
    const e = existing[i];
    e.setAttribute('aria-pressed', w.getAttribute('aria-pressed'));
    setText(e.querySelector('.count'), w.querySelector('.count').textContent);
  });
}

function renderRows(tbody, rows, jobs) {
  const seen = new Set();
  let prev = null;
  for (const job of jobs) {
    let row = rows.get(job.job_id);
    if (!row) {
      row = makeRow(job);
      rows.set(job.job_id, row);
    }
    updateRow(row, job);
    const slot = prev ? prev.nextSibling : tbody.firstChild;
    // Only rows out of place move (moving a row would take the focus from its link).
    if (slot !== row.tr) tbody.insertBefore(row.tr, slot);
    prev = row.tr;
    seen.add(job.job_id);
  }
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  const empty = tbody.querySelector('tr.empty');
  if (jobs.length === 0 && !empty) {
    tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: 10 }, 'No job matches.')));
  } else if (jobs.length > 0 && empty) {
    empty.remove();
  }
}

function makeRow(job) {
  const c = {};
  const td = (label, cls) => (c[label] = h('td', { 'data-label': label, class: cls }));
  // A job retried after a FAILURE says how many times it ran, beside its state.
  c.runs = h('span', { class: 'muted small' });
  const tr = h('tr', { 'data-job': job.job_id },
    td('ID', 'mono'), h('th', { scope: 'row', 'data-label': 'Startup' },
      (c.link = h('a', { href: jobHref(job.job_id), class: 'job-link' }))),
    append(td('State'), [h('span'), c.runs]), td('Providers'), td('Steps', 'num'),
    td('Tokens', 'num'), td('Cost', 'num'), td('Node'), td('Submitted'), td('Duration', 'num'));
  return { tr, c, job };
}

function updateRow(row, job) {
  const { c } = row;
  row.job = job;
  setText(c.ID, shortId(job.job_id));
  c.ID.title = job.job_id;
  setText(c.link, job.startup);
  patchState(row, job.state);
  setText(row.c.runs, job.runs > 1 ? ' ' + job.runs + ' runs' : '');
  const chain = job.providers && job.providers.length ? job.providers : [job.provider];
  const answered = job.provider && chain.length > 1 ? ' (now ' + job.provider + ')' : '';
  setText(c.Providers, chain.filter(Boolean).join(' → ') + answered);
  setText(c.Steps, (job.steps_done ?? '–') + ' / ' + (job.steps_total ?? '–'));
  const u = job.usage || {};
  setText(c.Tokens, u.input_tokens == null ? '–'
    : fmtTokens(Number(u.input_tokens) + Number(u.output_tokens)));
  c.Tokens.title = u.input_tokens == null ? '' : u.input_tokens + ' in, ' + u.output_tokens + ' out';
  setText(c.Cost, fmtCost(u.cost_usd));
  setText(c.Node, job.node || '–');
  if (c.Submitted.dataset.at !== job.submitted_at) {
    fill(c.Submitted, time(job.submitted_at));
    c.Submitted.dataset.at = job.submitted_at || '';
  }
  tickDuration(row);
}

function patchState(row, state) {
  const cell = row.c.State;
  if (cell.dataset.state === state) return;
  cell.dataset.state = state;
  row.state = state;
  cell.firstChild.replaceWith(badge(state));
}

function tickDuration(row) {
  const job = row.job;
  const running = !TERMINAL.has(row.state);
  const end = running ? null : job.finished_at || job.updated_at;
  setText(row.c.Duration, fmtDuration(between(job.submitted_at, end)));
}
