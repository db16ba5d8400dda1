// The sweeps list: state, progress, ETA, and for admins the owning tenant; polled every two seconds.
import { api } from './api.js';
import { h, replace, duration, when, progressBar, badge } from './dom.js';

export function sweepsView(main) {
  const body = h('tbody');
  const head = h('thead');
  const empty = h('p', { class: 'empty', hidden: true }, 'No sweeps yet. ', h('a', { href: '#/submit' }, 'Submit one.'));
  const failure = h('p', { class: 'error', hidden: true });
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Sweeps'), h('a', { class: 'button primary', href: '#/submit' }, 'New sweep')),
    failure, h('table', { class: 'list sweeps' }, head, body), empty);
  let admin = null;
  let timer;
  let alive = true;

  async function refresh() {
    try {
      // Only admins may list workers: that tells the page whether to show tenants.
      if (admin === null) admin = await api.workers().then(() => true, e => (e.status === 403 ? false : null));
      const sweeps = await api.sweeps(100);
      if (!alive) return;
      failure.hidden = true;
      replace(head, h('tr', {}, h('th', {}, 'Sweep'), h('th', {}, 'Model'), admin ? h('th', {}, 'Tenant') : null, h('th', {}, 'State'),
        h('th', { class: 'wide' }, 'Progress'), h('th', {}, 'Images'), h('th', {}, 'ETA'), h('th', {}, 'Created')));
      replace(body, sweeps.map(s => h('tr', { 'data-sweep': s.id },
        h('td', {}, h('a', { href: `#/sweeps/${encodeURIComponent(s.id)}`, class: 'mono' }, s.id)),
        h('td', {}, s.model),
        admin ? h('td', { class: 'tenant' }, s.tenant ?? '') : null,
        h('td', {}, badge(s.state)),
        h('td', {}, progressBar(s.progress, s.state)),
        h('td', { class: 'num' }, `${s.images.completed} / ${s.images.total}`, s.images.failed ? h('span', { class: 'failed-count' }, ` · ${s.images.failed} failed`) : null),
        h('td', { class: 'num eta' }, s.etaSeconds == null ? '—' : duration(s.etaSeconds)),
        h('td', { class: 'muted' }, when(s.createdAt)))));
      empty.hidden = sweeps.length > 0;
    } catch (e) {
      failure.textContent = `Could not load sweeps: ${e.message}`;
      failure.hidden = false;
    } finally {
      if (alive) timer = setTimeout(refresh, 2000);
    }
  }
  refresh();
  return () => { alive = false; clearTimeout(timer); };
}
