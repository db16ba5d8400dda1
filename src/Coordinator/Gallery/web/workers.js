// Workers (admin keys): models, device, current job, images per minute; polled every two seconds.
import { api } from './api.js';
import { h, replace, when } from './dom.js';

export function workersView(main) {
  const body = h('tbody');
  const note = h('p', { class: 'empty', hidden: true });
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Workers')),
    h('table', { class: 'list workers' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Worker'), h('th', {}, 'Host'), h('th', {}, 'Device'), h('th', {}, 'Models'),
        h('th', {}, 'Current job'), h('th', {}, 'Images / min'), h('th', {}, 'Jobs done'), h('th', {}, 'Up since'))),
      body),
    note);
  let timer;
  let alive = true;

  async function refresh() {
    try {
      const workers = await api.workers();
      if (!alive) return;
      replace(body, workers.map(w => h('tr', { 'data-worker': w.workerId },
        h('td', { class: 'mono' }, w.workerId),
        h('td', {}, w.host),
        h('td', {}, w.device),
        h('td', {}, w.models.join(', ')),
        h('td', { class: 'mono' }, w.currentJob ?? h('span', { class: 'muted' }, 'idle')),
        h('td', { class: 'num rate' }, (w.imagesPerMinute ?? 0).toFixed(1)),
        h('td', { class: 'num' }, w.jobsDone),
        h('td', { class: 'muted' }, when(w.startedAt)))));
      note.hidden = workers.length > 0;
      note.textContent = 'No worker has sent a heartbeat recently.';
    } catch (e) {
      replace(body);
      note.hidden = false;
      note.textContent = e.status === 403 ? 'Workers are shown to admin keys.' : `Could not load workers: ${e.message}`;
    } finally {
      if (alive) timer = setTimeout(refresh, 2000);
    }
  }
  refresh();
  return () => { alive = false; clearTimeout(timer); };
}
