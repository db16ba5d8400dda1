// The coordinator's /v1 API with the tab's API key. A 401 asks for a key (once, however many calls wait) and retries.
import { askForKey, key } from './key.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra) {
  const secret = key.get();
  return { ...(secret ? { Authorization: `Bearer ${secret}` } : {}), ...extra };
}

export async function request(path, { method = 'GET', body, contentType, signal } = {}) {
  for (;;) {
    const answer = await fetch(path, { method, body, signal, headers: headers(contentType ? { 'Content-Type': contentType } : {}) });
    if (answer.status === 401) {
      await askForKey(key.get() ? 'This key is unknown or revoked.' : 'This coordinator needs an API key.');
      continue;
    }
    const text = await answer.text();
    const json = text ? JSON.parse(text) : null;
    if (!answer.ok) throw new ApiError(answer.status, json);
    return json;
  }
}

export const api = {
  sweeps: limit => request(`/v1/sweeps?limit=${limit}`),
  sweep: id => request(`/v1/sweeps/${encodeURIComponent(id)}`),
  images: (id, { state, offset = 0, limit = 1000 } = {}) =>
    request(`/v1/sweeps/${encodeURIComponent(id)}/images?offset=${offset}&limit=${limit}${state ? `&state=${state}` : ''}`),
  image: (id, index) => request(`/v1/sweeps/${encodeURIComponent(id)}/images/${index}`),
  grids: id => request(`/v1/sweeps/${encodeURIComponent(id)}/grids`),
  pause: id => request(`/v1/sweeps/${encodeURIComponent(id)}/pause`, { method: 'POST' }),
  resume: id => request(`/v1/sweeps/${encodeURIComponent(id)}/resume`, { method: 'POST' }),
  retry: id => request(`/v1/sweeps/${encodeURIComponent(id)}/retry`, { method: 'POST' }),
  cancel: id => request(`/v1/sweeps/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  submit: (spec, dryRun) => request(`/v1/sweeps${dryRun ? '?dryRun=true' : ''}`, { method: 'POST', body: spec, contentType: specType(spec) }),
  workers: () => request('/v1/workers'),
};

// JSON when it looks like JSON; YAML otherwise (the coordinator reads both).
function specType(spec) {
  return /^\s*[[{]/.test(spec) ? 'application/json' : 'application/yaml';
}

/**
 * Reads a server-sent event stream with fetch(), because EventSource cannot send the Authorization header.
 * Calls onEvent(name, data) per event; resolves when the server ends the stream, rejects on a network error.
 */
export async function readEvents(path, onEvent, signal) {
  const answer = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal });
  if (answer.status === 401) {
    await askForKey('This key is unknown or revoked.');
    return readEvents(path, onEvent, signal);
  }
  if (!answer.ok) throw new ApiError(answer.status, null);
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
