using System.Text.Json;
using Farm.Coordinator;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Logging;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Xunit;

namespace Farm.GpuWorker.Tests.Telemetry;

/// <summary>Structured logs: a worker logs a job within its sweep, job and worker ids; <c>--log-format json</c> writes them as fields.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task A_workers_log_lines_about_a_job_carry_its_sweep_job_and_worker_ids_as_scopes()
    {
        var model = TestServices.UniqueName("tiny");
        var workerId = TestServices.UniqueName("log-worker");
        var logs = new ScopeRecorder();
        await using var coordinator = await CoordinatorUnderTest.StartAsync("logs", new CoordinatorOptions { DefaultBatchSize = 2, MaxWidth = 256, MaxHeight = 256 });
        using var worker = await InProcessWorker.StartAsync(coordinator.Settings, new WorkerOptions { WorkerId = workerId, HeartbeatInterval = TimeSpan.FromMilliseconds(500) },
            new TestDoubleRendererFactory(model, () => TimeSpan.Zero), s => s.AddLogging(b => b.AddProvider(logs).AddFilter<ScopeRecorder>("Farm", LogLevel.Information)));
        try
        {
            await coordinator.WaitForWorkersAsync(model, 1, TimeSpan.FromSeconds(60));
            var accepted = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":[1,2,3],"steps":2,"width":16,"height":16}""");
            await coordinator.WaitForStateAsync(accepted.Id, TimeSpan.FromSeconds(60), "completed");
            await CoordinatorUnderTest.WaitUntilAsync(() => Task.FromResult(logs.Lines(accepted.Id).Count(l => l.Message.Contains(" done: ")) == 2),
                TimeSpan.FromSeconds(30), "both jobs' done lines");
            foreach (var line in logs.Lines(accepted.Id).Where(l => l.Message.Contains(" done: ")))
            {
                Assert.Equal(accepted.Id, line.Scopes["SweepId"]);
                Assert.Equal(workerId, line.Scopes["WorkerId"]);
                Assert.Contains($"{accepted.Id}/{line.Scopes["JobIndex"]} done", line.Message);
            }
            Assert.Equal(["0", "1"], logs.Lines(accepted.Id).Where(l => l.Message.Contains(" done: ")).Select(l => l.Scopes["JobIndex"]).Order());
        }
        finally
        {
            await worker.StopAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void The_json_log_format_writes_one_object_per_line_with_the_scopes_as_fields()
    {
        using var services = new ServiceCollection().AddLogging(b => b.AddFarmConsole(json: true)).BuildServiceProvider();
        var options = services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var formatter = services.GetServices<ConsoleFormatter>().Single(f => f.Name == options.FormatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var writer = new StringWriter();
        using (scopes.Push(new Dictionary<string, object> { ["SweepId"] = "sw-1", ["JobIndex"] = 3L, ["WorkerId"] = "gpu1" }))
            formatter.Write(new LogEntry<string>(LogLevel.Information, "Farm.Test", default, "job sw-1/3 done", null, (s, _) => s), scopes, writer);

        var lines = writer.ToString().Trim().Split('\n');
        var entry = JsonDocument.Parse(Assert.Single(lines)).RootElement;
        Assert.Equal("job sw-1/3 done", entry.GetProperty("Message").GetString());
        Assert.Equal("Information", entry.GetProperty("LogLevel").GetString());
        var scope = Assert.Single(entry.GetProperty("Scopes").EnumerateArray());
        Assert.Equal(("sw-1", 3, "gpu1"), (scope.GetProperty("SweepId").GetString(), scope.GetProperty("JobIndex").GetInt64(), scope.GetProperty("WorkerId").GetString()));
    }

    /// <summary>Every entry with the values of the scopes around it (a logger provider that takes part in scopes).</summary>
    private sealed class ScopeRecorder : ILoggerProvider, ISupportExternalScope
    {
        private readonly List<(string Message, Dictionary<string, string> Scopes)> lines = [];
        private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

        public IReadOnlyList<(string Message, Dictionary<string, string> Scopes)> Lines(string sweepId)
        {
            lock (lines) return lines.Where(l => l.Message.Contains(sweepId)).ToList();
        }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public ILogger CreateLogger(string categoryName) => new Recorder(this);

        public void Dispose()
        {
        }

        private sealed class Recorder(ScopeRecorder owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = new Dictionary<string, string>();
                owner.scopes.ForEachScope((scope, into) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                        foreach (var (key, value) in pairs) into[key] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                }, values);
                lock (owner.lines) owner.lines.Add((formatter(state, exception), values));
            }
        }
    }
}
