// The lightbox: one image at full size with its parameters and its AUTOMATIC1111 infotext (copyable); ← and → step through.
import { api } from './api.js';
import { h, replace } from './dom.js';

const dialog = () => document.getElementById('lightbox');
let current = null;

export async function openLightbox(sweepId, index, order) {
  current = { sweepId, index, order };
  const box = dialog();
  if (!box.open) box.showModal();
  await show();
}

async function show() {
  const { sweepId, index } = current;
  const img = document.getElementById('lightbox-img');
  const params = document.getElementById('lightbox-params');
  const infotext = document.getElementById('lightbox-infotext');
  document.getElementById('lightbox-title').textContent = `Image #${index}`;
  img.removeAttribute('src');
  replace(params);
  infotext.textContent = '';
  try {
    const detail = await api.image(sweepId, index);
    if (current?.index !== index) return;
    const i = detail.image;
    if (i.url) { img.src = i.url; img.alt = i.prompt; }
    img.hidden = !i.url;
    replace(params,
      row('State', i.state), row('Prompt', i.prompt), detail.negativePrompt ? row('Negative prompt', detail.negativePrompt) : null,
      row('Seed', i.seed), row('Steps', i.steps), row('CFG scale', i.guidanceScale), row('Scheduler', i.scheduler),
      row('Size', `${i.width}×${i.height}`), row('Model', i.model),
      detail.clipSkip ? row('Clip skip', detail.clipSkip) : null,
      detail.loras ? row('LoRAs', detail.loras.map(l => `${l.name}: ${l.scale}`).join(', ')) : null,
      detail.embeddings ? row('Embeddings', detail.embeddings.join(', ')) : null,
      detail.strength != null ? row('Strength', detail.strength) : null,
      detail.worker ? row('Worker', detail.worker) : null,
      detail.renderSeconds != null ? row('Render', `${detail.renderSeconds.toFixed(1)} s (its job)`) : null,
      i.error ? row('Error', i.error) : null);
    infotext.textContent = detail.infotext ?? (i.state === 'completed' ? '(this image was stored without infotext)' : 'Not rendered yet.');
  } catch (e) {
    infotext.textContent = `Could not load the image: ${e.message}`;
  }
}

function row(name, value) {
  return [h('dt', {}, name), h('dd', { 'data-param': name.toLowerCase().replace(/\s+/g, '-') }, String(value))];
}

function step(by) {
  if (!current) return;
  const at = current.order.indexOf(current.index);
  const next = current.order[at + by];
  if (next === undefined) return;
  current.index = next;
  show();
}

document.getElementById('lightbox-prev').addEventListener('click', () => step(-1));
document.getElementById('lightbox-next').addEventListener('click', () => step(1));
document.getElementById('lightbox-close').addEventListener('click', () => dialog().close());
dialog().addEventListener('click', event => { if (event.target === dialog()) dialog().close(); });
dialog().addEventListener('close', () => { current = null; });
document.addEventListener('keydown', event => {
  if (!dialog().open) return;
  if (event.key === 'ArrowLeft') step(-1);
  if (event.key === 'ArrowRight') step(1);
});
document.getElementById('lightbox-copy').addEventListener('click', async event => {
  const text = document.getElementById('lightbox-infotext').textContent;
  const button = event.currentTarget;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // Clipboard access needs a secure context (https or localhost); selecting the text lets Ctrl+C do it.
    getSelection().selectAllChildren(document.getElementById('lightbox-infotext'));
    button.textContent = 'Selected';
  }
  setTimeout(() => { button.textContent = 'Copy'; }, 1500);
});
