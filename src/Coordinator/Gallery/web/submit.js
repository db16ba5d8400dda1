// The submit form: a YAML or JSON spec, a dry run that shows what it would cost, and the submit itself.
import { api } from './api.js';
import { h, replace, duration, bytes } from './dom.js';

const Example = `model: sd15
prompts: ["a cat in a hat", "a lighthouse at dusk"]
guidanceScale: [5, 7.5]
steps: 20
size: "512x512"
seeds: { start: 1000, count: 4 }
`;
const DraftKey = 'farmDraft';

export function submitView(main) {
  const editor = h('textarea', { id: 'spec', class: 'editor', spellcheck: 'false', 'aria-label': 'Sweep spec (YAML or JSON)' });
  editor.value = sessionStorage.getItem(DraftKey) ?? Example;
  editor.addEventListener('input', () => sessionStorage.setItem(DraftKey, editor.value));
  // Tab indents instead of leaving the editor: specs are YAML.
  editor.addEventListener('keydown', event => {
    if (event.key !== 'Tab') return;
    event.preventDefault();
    editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end');
  });
  const preview = h('div', { id: 'preview', class: 'preview' }, h('p', { class: 'muted' }, 'Dry run to see the images, jobs, time and bucket space this sweep takes. Nothing is created.'));
  const dry = h('button', { id: 'dry-run', onclick: () => run(true) }, 'Dry run');
  const submit = h('button', { id: 'submit', class: 'primary', onclick: () => run(false) }, 'Submit');
  main.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'New sweep'), h('div', { class: 'controls' }, dry, submit)),
    h('div', { class: 'submit-layout' },
      h('div', {}, editor, h('p', { class: 'hint' }, 'YAML or JSON; the fields are the README\'s "Sweep specs".')),
      preview));

  async function run(dryRun) {
    dry.disabled = submit.disabled = true;
    try {
      const answer = await api.submit(editor.value, dryRun);
      if (dryRun) replace(preview, estimate(answer));
      else location.hash = `#/sweeps/${encodeURIComponent(answer.id)}`;
    } catch (e) {
      replace(preview, problem(e));
    } finally {
      dry.disabled = submit.disabled = false;
    }
  }
}

function estimate(e) {
  return [
    h('h2', {}, 'Dry run: nothing created'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Images'), h('dd', { id: 'estimate-images' }, e.images), h('dt', {}, 'Jobs'), h('dd', {}, e.jobs),
      h('dt', {}, 'Rendering'), h('dd', {}, e.renderSeconds == null ? 'not measured yet' : duration(e.renderSeconds)),
      h('dt', {}, 'Done in'), h('dd', {}, e.etaSeconds == null ? 'unknown' : `about ${duration(e.etaSeconds)} with the workers alive now`),
      h('dt', {}, 'Bucket'), h('dd', {}, `at most ${bytes(e.bucketBytesAtMost)}`)),
    h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Model'), h('th', {}, 'Images'), h('th', {}, 'Jobs'), h('th', {}, 'MP-steps'), h('th', {}, 'Rendering'), h('th', {}, 'Pipelines'))),
      h('tbody', {}, e.models.map(m => h('tr', {}, h('td', {}, m.model), h('td', { class: 'num' }, m.images), h('td', { class: 'num' }, m.jobs),
        h('td', { class: 'num' }, m.megapixelSteps), h('td', { class: 'num' }, m.renderSeconds == null ? '—' : duration(m.renderSeconds)),
        h('td', { class: 'num' }, m.pipelines))))),
    e.notes.length ? h('ul', { class: 'notes' }, e.notes.map(n => h('li', {}, n))) : null,
  ];
}

function problem(e) {
  const errors = e.problem?.errors;
  return [
    h('h2', { class: 'error' }, e.problem?.title ?? 'The coordinator refused the sweep'),
    errors
      ? h('ul', { class: 'problems' }, Object.entries(errors).flatMap(([field, messages]) => messages.map(m => h('li', {}, h('code', {}, field), ': ', m))))
      : h('p', {}, e.message),
  ];
}
