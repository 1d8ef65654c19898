// Every request of the dashboard goes through request(): the one place that will add credentials
// when job endpoints need them (an API key kept in this tab's sessionStorage, sent as a bearer
// token). Answers are never thrown: each is {ok, status, body, error, detail, unavailable}.

const KEY_STORAGE = 'reportcluster.api-key';

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage refused (private mode): the key is simply not kept.
  }
}

// Endpoints this node does not serve (404 not_found / 405 method_not_allowed: an older node),
// remembered for a while so that pages polling them do not ask again every few seconds.
const missing = new Map();
const MISSING_FOR_MS = 60_000;

export async function request(method, path, body) {
  const route = method + ' ' + path.split('?')[0];
  const gone = missing.get(route);
  if (gone && Date.now() - gone.at < MISSING_FOR_MS) return gone.answer;
  const headers = { Accept: 'application/json' };
  const key = apiKey();
  if (key) headers.Authorization = 'Bearer ' + key;
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return answer(0, null, 'unreachable', 'the node did not answer');
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  const error = response.ok ? null : (json && json.error) || 'http_' + response.status;
  const detail = json && !response.ok ? detailText(json.detail) : '';
  const result = answer(response.status, json, error, detail);
  if (result.unavailable) missing.set(route, { at: Date.now(), answer: result });
  return result;
}

function answer(status, body, error, detail) {
  const ok = status >= 200 && status < 300;
  // A route the node does not have, as opposed to a job it does not know (404 unknown_job).
  const unavailable = error === 'not_found' || error === 'method_not_allowed';
  return { ok, status, body, error, detail, unavailable };
}

function detailText(detail) {
  if (detail == null) return '';
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

/** A short sentence for an answer that is not ok, for the page to show as text. */
export function problem(r, what) {
  if (r.unavailable) return what + ' is not available on this node';
  if (r.status === 0) return what + ': the node did not answer';
  return what + ': ' + r.status + ' ' + r.error + (r.detail ? ' (' + r.detail + ')' : '');
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

const job = (id) => '/api/v1/jobs/' + encodeURIComponent(id);

export const api = {
  health: () => request('GET', '/api/v1/health'),
  cluster: () => request('GET', '/api/v1/cluster'),
  nodeCalls: () => request('GET', '/api/v1/node/calls'),
  providers: () => request('GET', '/api/v1/providers'),
  stats: (minutes) => request('GET', '/api/v1/stats' + query({ minutes })),
  jobs: (filters) => request('GET', '/api/v1/jobs' + query(filters)),
  job: (id) => request('GET', job(id)),
  submit: (startup, provider) =>
    request('POST', '/api/v1/jobs', provider ? { startup, provider } : { startup }),
  cancel: (id) => request('DELETE', job(id)),
  retry: (id) => request('POST', job(id) + '/retry'),
  jobEventsPath: (id) => job(id) + '/events',
};

// Transitions of jobs as the node names them on its event streams (plus "state", the first
// event of a job's stream: its whole view). "delta" carries a running step's text.
export const TRANSITIONS = [
  'submitted', 'started', 'step_completed', 'retry', 'fallback', 'succeeded', 'failed',
  'revoked', 'recovered', 'resync',
];

/**
 * A server-sent-event stream that reconnects quietly, with backoff, after an error. onEvent(name,
 * data) gets each event's JSON; onStatus(text) hears 'live' or 'reconnecting'. EventSource cannot
 * send an Authorization header, so the key goes as ?access_token= (the node takes it on GETs).
 */
export function openStream(path, names, onEvent, onStatus = () => {}) {
  let source = null;
  let closed = false;
  let timer = null;
  let delay = 1000;
  const connect = () => {
    const key = apiKey();
    const url = key
      ? path + (path.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(key)
      : path;
    source = new EventSource(url);
    source.onopen = () => {
      delay = 1000;
      onStatus('live');
    };
    source.onerror = () => {
      source.close();
      if (closed) return;
      onStatus('reconnecting');
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    };
    for (const name of names) {
      source.addEventListener(name, (e) => {
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        if (!closed) onEvent(name, data);
      });
    }
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}

// The cluster's events (GET /api/v1/events), one stream for every page that listens. It needs
// Redis: when the node says live events are not up, pages poll instead and the stream is tried
// again later.
const listeners = new Set();
const statusListeners = new Set();
let stream = null;
let recheck = null;
let status = 'connecting';
let starting = false;

/** What the header says about live updates; the job page reports its own stream here too. */
export function setStatus(s) {
  status = s;
  statusListeners.forEach((fn) => fn(s));
}

async function startLive() {
  if (starting) return;
  starting = true;
  const health = await api.health();
  starting = false;
  if (listeners.size === 0 || stream) return;
  if (!health.ok || health.body.live_events !== 'up') {
    setStatus('polling');
    recheck = setTimeout(startLive, 15000);
    return;
  }
  stream = openStream(
    '/api/v1/events',
    TRANSITIONS,
    (name, data) => listeners.forEach((fn) => fn(name, data)),
    setStatus,
  );
}

/** Calls fn(name, event) for every job transition of the cluster; returns the unsubscribe. */
export function onJobEvents(fn) {
  listeners.add(fn);
  if (listeners.size === 1 && !stream) startLive();
  return () => {
    listeners.delete(fn);
    if (listeners.size > 0) return;
    clearTimeout(recheck);
    if (stream) stream.close();
    stream = null;
    setStatus('idle');
  };
}

export function onLiveStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}
