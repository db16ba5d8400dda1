namespace Farm.Coordinator.Api;

/// <summary>The live page at <c>/</c>: sweeps with progress bars and workers, polling the API every second.</summary>
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
        <h2>Sweeps</h2>
        <table><thead><tr><th>id</th><th>model</th><th>state</th><th>progress</th><th>images</th><th>eta</th><th>created</th></tr></thead><tbody id="sweeps"></tbody></table>
        <h2>Workers</h2>
        <table><thead><tr><th>id</th><th>host</th><th>device</th><th>models</th><th>jobs done</th><th>current job</th></tr></thead><tbody id="workers"></tbody></table>
        <p><a href="/openapi/v1.json">OpenAPI document</a></p>
        <script>
        const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
        async function refresh() {
          try {
            const sweeps = await (await fetch('/v1/sweeps?limit=50')).json();
            document.getElementById('sweeps').innerHTML = sweeps.map(s => `<tr>
              <td><code>${esc(s.id)}</code></td><td>${esc(s.model)}</td><td class="${s.state}">${s.state}</td>
              <td><div class="bar"><div style="width:${(s.progress*100).toFixed(1)}%"></div></div></td>
              <td>${s.images.completed}/${s.images.total} done, ${s.images.running} running, ${s.images.failed} failed</td>
              <td>${s.etaSeconds == null ? '' : s.etaSeconds.toFixed(0) + 's'}</td><td>${new Date(s.createdAt).toLocaleTimeString()}</td></tr>`).join('');
            const workers = await (await fetch('/v1/workers')).json();
            document.getElementById('workers').innerHTML = workers.map(w => `<tr>
              <td><code>${esc(w.workerId)}</code></td><td>${esc(w.host)}</td><td>${esc(w.device)}</td><td>${esc(w.models.join(', '))}</td>
              <td>${w.jobsDone}</td><td>${esc(w.currentJob)}</td></tr>`).join('');
          } catch (e) { /* the next poll retries */ }
        }
        refresh(); setInterval(refresh, 1000);
        </script>
        </body></html>
        """;
}
