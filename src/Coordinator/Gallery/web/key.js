// The API key prompt: one dialog, however many requests are waiting for a key.
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
      sessionStorage.setItem('farmKey', value);
      dialog.close();
      pending = null;
      document.getElementById('forget-key').hidden = false;
      resolve(value);
    }, { once: true });
  });
  // The key is needed: Esc must not close the prompt and leave every request waiting.
  dialog.addEventListener('cancel', event => event.preventDefault());
  if (!dialog.open) dialog.showModal();
  input.focus();
  return pending;
}
