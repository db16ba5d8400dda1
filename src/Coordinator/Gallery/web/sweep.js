// One sweep: its status and controls, thumbnails filling in live (server-sent events), failed images, and its grids.
import { api, readEvents } from './api.js';
import { h, replace, duration, when, progressBar, badge } from './dom.js';
import { openLightbox } from './lightbox.js';

const Shown = 1000;
const Finished = ['completed', 'failed', 'cancelled'];

export function sweepView(main, id) {
  const summary = h('div', { class: 'summary' });
  const controls = h('div', { class: 'controls' });
  const message = h('p', { class: 'error', hidden: true });
  const tiles = h('div', { class: 'tiles', id: 'tiles' });
  const more = h('p', { class: 'muted', hidden: true });
  const failedSection = h('section', { hidden: true }, h('h2', {}, 'Failed images'));
  const failedList = h('table', { class: 'list failed-images' });
  failedSection.append(failedList);
  const gridSection = h('section', { hidden: true }, h('h2', {}, 'X/Y/Z grids'));
  const grids = h('div', { class: 'grids' });
  gridSection.append(grids);
  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Sweep ', h('span', { class: 'mono' }, id)), controls),
    summary, message,
    h('section', {}, h('h2', {}, 'Images'), tiles, more),
    failedSection, gridSection);

  const abort = new AbortController();
  const byIndex = new Map();
  let order = [];
  let status = null;
  let reloadTimer = null;

  function tile(item) {
    let el = byIndex.get(item.index)?.el;
    const fresh = !el;
    if (fresh) el = h('button', { class: 'tile', 'data-index': item.index, onclick: () => openLightbox(id, item.index, order) });
    const before = byIndex.get(item.index)?.item;
    byIndex.set(item.index, { el, item });
    if (!fresh && before?.state === item.state && before?.url === item.url) return el;
    el.className = `tile ${item.state}`;
    el.dataset.state = item.state;
    el.title = `#${item.index} · seed ${item.seed} · ${item.prompt}`;
    replace(el,
      item.state === 'completed' && item.url ? h('img', { src: item.url, alt: `image ${item.index}, seed ${item.seed}`, loading: 'lazy' })
        : h('span', { class: 'placeholder' }, item.state === 'failed' ? '✕' : item.state === 'running' ? '…' : ''),
      h('span', { class: 'caption' }, `#${item.index} · ${item.seed}`));
    return el;
  }

  async function loadImages() {
    const page = await api.images(id, { limit: Shown });
    order = page.items.map(i => i.index);
    for (const item of page.items) {
      const el = tile(item);
      if (!el.isConnected) tiles.append(el);
    }
    more.hidden = page.total <= Shown;
    more.textContent = `Showing the first ${Shown} of ${page.total} images.`;
  }

  // Events can be dropped under load; the counts in each status tell when the tiles fell behind.
  function reloadSoon() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(async () => {
      reloadTimer = null;
      try { await loadImages(); await loadFailed(); } catch { /* the next status tries again */ }
    }, 1500);
  }

  async function refreshImage(index) {
    if (!byIndex.has(index)) return;
    const detail = await api.image(id, index);
    tile(detail.image);
  }

  async function loadFailed() {
    if (!status?.images.failed) { failedSection.hidden = true; return; }
    const page = await api.images(id, { state: 'failed', limit: 200 });
    failedSection.hidden = page.items.length === 0;
    replace(failedList,
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Seed'), h('th', {}, 'Prompt'), h('th', {}, 'Error'))),
      h('tbody', {}, page.items.map(i => h('tr', {},
        h('td', { class: 'num' }, i.index), h('td', { class: 'num' }, i.seed), h('td', {}, i.prompt), h('td', { class: 'error-text' }, i.error ?? '')))));
  }

  // The worker that counts the last image draws the grids after the sweep is completed: look again for a while.
  let gridTimer = null;
  async function loadGrids() {
    const list = await api.grids(id);
    const recent = status?.state === 'completed' && Date.now() - new Date(status.finishedAt ?? 0).getTime() < 120_000;
    if (list.items.length === 0 && recent && !abort.signal.aborted) gridTimer = setTimeout(() => loadGrids().catch(() => {}), 2000);
    gridSection.hidden = list.items.length === 0;
    replace(grids, list.items.map(g => h('figure', {},
      h('a', { href: g.url, target: '_blank', rel: 'noopener' }, h('img', { src: g.url, alt: `grid ${g.z}, page ${g.page}`, loading: 'lazy' })),
      h('figcaption', {}, `Z ${g.z} · page ${g.page}`))));
  }

  function showStatus(s) {
    const completedBefore = status?.images.completed;
    const failedBefore = status?.images.failed;
    const runningBefore = status?.images.running;
    status = s;
    replace(summary,
      h('div', { class: 'summary-row' }, badge(s.state), progressBar(s.progress, s.state), h('span', { class: 'pct' }, `${(s.progress * 100).toFixed(0)}%`)),
      h('dl', { class: 'facts inline' },
        fact('Model', s.model), fact('Images', `${s.images.completed} done · ${s.images.running} running · ${s.images.queued} queued · ${s.images.failed} failed · ${s.images.total} in all`),
        fact('ETA', s.etaSeconds == null ? '—' : duration(s.etaSeconds)), fact('Priority', s.priority),
        s.tenant ? fact('Tenant', s.tenant) : null,
        fact('Created', when(s.createdAt)), s.finishedAt ? fact('Finished', when(s.finishedAt)) : null,
        s.reason ? fact('Reason', s.reason) : null),
      s.contactSheetUrl ? h('p', {}, h('a', { href: s.contactSheetUrl, target: '_blank', rel: 'noopener' }, 'Contact sheet')) : null);
    showControls(s);
    if (completedBefore !== undefined && (s.images.completed !== completedBefore || s.images.failed !== failedBefore || s.images.running !== runningBefore)) reloadSoon();
    if (failedBefore !== s.images.failed) loadFailed().catch(() => {});
  }

  function showControls(s) {
    const finished = Finished.includes(s.state);
    replace(controls,
      s.state === 'paused'
        ? button('Resume', 'resume', () => api.resume(id))
        : button('Pause', 'pause', () => api.pause(id), finished),
      button('Retry failed', 'retry', async () => (await api.retry(id)).sweep, !s.images.failed || s.state === 'cancelled'),
      button('Cancel', 'cancel', () => (confirm(`Cancel sweep ${id}? Queued images are skipped.`) ? api.cancel(id) : null), finished, 'danger'));
  }

  function button(label, action, run, disabled = false, kind = '') {
    return h('button', { class: kind, 'data-action': action, disabled, onclick: async () => {
      try {
        const answer = await run();
        if (answer) { showStatus(answer); if (action === 'retry' || action === 'resume') follow(); }
      } catch (e) { fail(e); }
    } }, label);
  }

  function fail(e) {
    message.textContent = typeof e === 'string' ? e : e.message;
    message.hidden = false;
  }

  let following = false;
  async function follow() {
    if (following) return;
    following = true;
    try {
      while (!abort.signal.aborted) {
        await readEvents(`/v1/sweeps/${encodeURIComponent(id)}/events`, (name, data) => {
          if (name === 'status') showStatus(data);
          else if (name === 'progress' && data.kind === 'image-completed' && data.imageIndex != null) refreshImage(data.imageIndex).catch(() => {});
          // A failure is one event per job, and a started job turns its tiles to running: reload the page of tiles.
          else if (name === 'progress' && (data.kind === 'image-failed' || data.kind === 'job-started')) reloadSoon();
        }, abort.signal);
        if (status && Finished.includes(status.state)) break;
        // A paused sweep's stream keeps going; an ended one (coordinator restart) is reopened after a pause.
        await new Promise(r => setTimeout(r, 1000));
      }
    } catch (e) {
      if (!abort.signal.aborted) fail(`Live updates stopped: ${e.message}`);
    } finally {
      following = false;
    }
    if (!abort.signal.aborted) { showStatus(await api.sweep(id)); await loadImages(); await loadFailed(); await loadGrids(); }
  }

  (async () => {
    try {
      showStatus(await api.sweep(id));
      await loadImages();
      await loadFailed();
      if (Finished.includes(status.state)) await loadGrids();
      else follow();
    } catch (e) {
      fail(e.status === 404 ? 'No such sweep (or it belongs to another tenant).' : e.message);
    }
  })();
  return () => { abort.abort(); clearTimeout(reloadTimer); clearTimeout(gridTimer); };
}

function fact(name, value) {
  return h('div', {}, h('dt', {}, name), h('dd', {}, value));
}
