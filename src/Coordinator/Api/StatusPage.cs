namespace Farm.Coordinator.Api;

/// <summary>
/// The live page at <c>/</c>: sweeps with progress bars and workers, polling the API every second. With keys on, it asks
/// for one and keeps it in the tab's sessionStorage; it shows what that key's tenant may see.
/// </summary>
internal static class StatusPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Farm</title>
        <style>
          body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
          table { border-collapse: collapse; margin-bottom: 2em; } td, th { padding: 4px 10px; text-align: left; border-bottom: 1px solid #ddd; }
          .bar { width: 200px; height: 10px; background: #eee; } .bar > div { height: 100%; background: #4a8; }
          .failed, .cancelled { color: #b33; } .completed { color: #282; } code { font-size: 12px; }
        </style></head>
        <body>
        <h1>Farm</h1>
        <form id="login" hidden onsubmit="sessionStorage.setItem('farmKey', this.key.value.trim()); this.hidden = true; refresh(); return false;">
          <p id="why">This coordinator needs an API key.</p>
          <input name="key" type="password" size="50" placeholder="farm_…" autocomplete="off"> <button>Use key</button>
        </form>
        <h2>Sweeps</h2>
        <table><thead><tr><th>id</th><th>model</th><th>state</th><th>progress</th><th>images</th><th>eta</th><th>created</th></tr></thead><tbody id="sweeps"></tbody></table>
        <h2>Workers</h2>
        <table><thead><tr><th>id</th><th>host</th><th>device</th><th>models</th><th>jobs done</th><th>current job</th></tr></thead><tbody id="workers"></tbody></table>
        <p><a href="/openapi/v1.json">OpenAPI document</a></p>
        <script>
        const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
        const get = path => {
          const key = sessionStorage.getItem('farmKey');
          return fetch(path, { headers: key ? { Authorization: 'Bearer ' + key } : {} });
        };
        async function refresh() {
          try {
            const answer = await get('/v1/sweeps?limit=50');
            const login = document.getElementById('login');
            if (answer.status === 401) {
              document.getElementById('why').textContent = sessionStorage.getItem('farmKey') ? 'This key is unknown or revoked.' : 'This coordinator needs an API key.';
              login.hidden = false;
              return;
            }
            const sweeps = await answer.json();
            document.getElementById('sweeps').innerHTML = sweeps.map(s => `<tr>
              <td><code>${esc(s.id)}</code></td><td>${esc(s.model)}</td><td class="${s.state}">${s.state}</td>
              <td><div class="bar"><div style="width:${(s.progress*100).toFixed(1)}%"></div></div></td>
              <td>${s.images.completed}/${s.images.total} done, ${s.images.running} running, ${s.images.failed} failed</td>
              <td>${s.etaSeconds == null ? '' : s.etaSeconds.toFixed(0) + 's'}</td><td>${new Date(s.createdAt).toLocaleTimeString()}</td></tr>`).join('');
            const seen = await get('/v1/workers');
            const workers = seen.ok ? await seen.json() : [];
            document.getElementById('workers').innerHTML = seen.status === 403 ? '<tr><td colspan="6">workers are shown to admin keys</td></tr>' : workers.map(w => `<tr>
              <td><code>${esc(w.workerId)}</code></td><td>${esc(w.host)}</td><td>${esc(w.device)}</td><td>${esc(w.models.join(', '))}</td>
              <td>${w.jobsDone}</td><td>${esc(w.currentJob)}</td></tr>`).join('');
          } catch (e) { /* the next poll retries */ }
        }
        refresh(); setInterval(refresh, 1000);
        </script>
        </body></html>
        """;
}
