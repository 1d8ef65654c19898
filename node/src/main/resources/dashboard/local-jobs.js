// For a node without the job history (GET /api/v1/jobs): the jobs submitted from this tab, read
// one by one, filtered here and shaped like rows of the history, so the Jobs page still works.

import { api } from './api.js';
import { STATES } from './dom.js';

const STORAGE = 'reportcluster.submitted';
const KEEP = 50;

export function submittedHere() {
  try {
    const ids = JSON.parse(sessionStorage.getItem(STORAGE) || '[]');
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberSubmitted(id) {
  const ids = [id, ...submittedHere().filter((x) => x !== id)].slice(0, KEEP);
  try {
    sessionStorage.setItem(STORAGE, JSON.stringify(ids));
  } catch {
    // Not kept: the tab shows it until the next refresh only.
  }
}

/** A job view as a row of the history. */
function row(v) {
  const steps = v.steps || [];
  const answered = steps.filter((s) => s.provider).map((s) => s.provider);
  return {
    job_id: v.job_id, state: v.state, startup: v.startup, providers: v.providers || [],
    provider: answered.length ? answered[answered.length - 1] : v.provider,
    steps_done: steps.filter((s) => s.state === 'SUCCESS').length, steps_total: steps.length,
    attempts: v.attempts, usage: v.usage, node: v.node, submitted_at: v.submitted_at,
    updated_at: v.updated_at, finished_at: v.finished_at, error: v.error,
  };
}

/** The answer GET /api/v1/jobs would give for these filters, from this tab's jobs. */
export async function localRows(filters) {
  const views = await Promise.all(submittedHere().map((id) => api.job(id)));
  const all = views.filter((r) => r.ok).map((r) => row(r.body));
  const q = (filters.q || '').toLowerCase();
  const matches = all.filter((j) => (!q || String(j.startup).toLowerCase().includes(q)) &&
    (!filters.provider || j.providers.includes(filters.provider) || j.provider === filters.provider));
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  matches.forEach((j) => counts[j.state]++);
  const jobs = matches.filter((j) => !filters.state.length || filters.state.includes(j.state));
  return { ok: true, local: true, status: 200,
    body: { jobs, next_cursor: null, counts, total: matches.length, lag_ms: 0 } };
}
