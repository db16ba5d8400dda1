// Hash routes to views; each view renders into <main> and returns a function that stops its timers and streams.
import { key } from './key.js';
import { sweepsView } from './sweeps.js';
import { sweepView } from './sweep.js';
import { submitView } from './submit.js';
import { workersView } from './workers.js';

const routes = [
  [/^#?\/?$/, () => sweepsView, 'sweeps'],
  [/^#\/sweeps\/([^/]+)$/, m => main => sweepView(main, decodeURIComponent(m[1])), 'sweeps'],
  [/^#\/submit$/, () => submitView, 'submit'],
  [/^#\/workers$/, () => workersView, 'workers'],
];

let stop = () => {};

function show() {
  stop();
  const main = document.getElementById('view');
  main.replaceChildren();
  const hash = location.hash || '#/';
  for (const [pattern, view, nav] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('active', link.dataset.nav === nav);
    stop = view(match)(main) ?? (() => {});
    return;
  }
  main.textContent = 'No such page.';
  stop = () => {};
}

const forget = document.getElementById('forget-key');
forget.hidden = !key.get();
forget.addEventListener('click', () => { key.forget(); forget.hidden = true; show(); });
window.addEventListener('hashchange', show);
show();
