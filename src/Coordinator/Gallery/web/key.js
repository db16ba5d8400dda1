// The tab's API key (sessionStorage) and its prompt: one dialog, however many requests are waiting for a key.
const KeyName = 'farmKey';

export const key = {
  get: () => sessionStorage.getItem(KeyName),
  set: value => sessionStorage.setItem(KeyName, value),
  forget: () => sessionStorage.removeItem(KeyName),
};

let pending = null;

export function askForKey(why) {
  if (pending) return pending;
  const dialog = document.getElementById('key-dialog');
  const form = document.getElementById('key-form');
  const input = document.getElementById('key-input');
  document.getElementById('key-why').textContent = why;
  input.value = '';
  pending = new Promise(resolve => {
    form.addEventListener('submit', event => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      key.set(value);
      dialog.close();
      pending = null;
      document.getElementById('forget-key').hidden = false;
      resolve(value);
    }, { once: true });
  });
  if (!dialog.open) dialog.showModal();
  input.focus();
  return pending;
}

// The key is needed: Esc must not close the prompt and leave every request waiting.
document.getElementById('key-dialog').addEventListener('cancel', event => event.preventDefault());
