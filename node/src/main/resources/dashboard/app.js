// The dashboard's shell: hash routes (#/, #/jobs, #/jobs/<id>, #/nodes), the header's live
// indicator and the settings corner. Each page is a module with mount(main, route) that returns
// its unmount.

import { h, fill } from './dom.js';
import { apiKey, setApiKey, onLiveStatus } from './api.js';
import * as overview from './overview.js';
import * as jobs from './jobs.js';
import * as job from './job.js';
import * as nodes from './nodes.js';

const main = document.getElementById('main');
let unmount = null;

function parse() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = hash.split('?');
  const parts = path.split('/').filter(Boolean);
  const query = new URLSearchParams(qs || '');
  if (parts.length === 0) return { page: 'overview', module: overview, query };
  if (parts[0] === 'jobs' && parts.length === 1) return { page: 'jobs', module: jobs, query };
  if (parts[0] === 'jobs' && parts.length === 2) {
    let id = parts[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // Left as it is: the API answers 404 for it.
    }
    return { page: 'jobs', module: job, query, id };
  }
  if (parts[0] === 'nodes' && parts.length === 1) return { page: 'nodes', module: nodes, query };
  return { page: null, module: null, query };
}

function show(first) {
  const route = parse();
  if (unmount) unmount();
  unmount = null;
  main.replaceChildren();
  for (const a of document.querySelectorAll('nav a[data-page]')) {
    if (a.dataset.page === route.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (route.module) {
    unmount = route.module.mount(main, route) || null;
  } else {
    document.title = 'Not found · reportcluster';
    fill(main, h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, 'There is no such page. ', h('a', { href: '#/' }, 'Go to the overview.')));
  }
  // Keyboard and screen-reader users land on the new page's heading, not on the old link.
  if (!first) {
    const heading = main.querySelector('h1');
    if (heading) heading.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
}

function liveIndicator() {
  const el = document.getElementById('live');
  const texts = {
    live: 'live',
    connecting: 'connecting…',
    reconnecting: 'reconnecting…',
    polling: 'polling (live events unavailable)',
    idle: 'not live',
    refreshing: 'refreshing every 2 s',
    ended: 'job finished',
  };
  onLiveStatus((s) => {
    el.textContent = texts[s] || s;
    el.className = 'live live-' + s;
  });
}

function settings() {
  const form = document.getElementById('settings-form');
  const input = document.getElementById('api-key');
  const state = document.getElementById('api-key-state');
  const say = () => {
    state.textContent = apiKey() ? 'A key is set for this tab.' : 'No key set.';
  };
  input.value = apiKey();
  say();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    say();
  });
  document.getElementById('api-key-clear').addEventListener('click', () => {
    input.value = '';
    setApiKey('');
    say();
  });
}

liveIndicator();
settings();
window.addEventListener('hashchange', () => show(false));
show(true);
