using Microsoft.Extensions.Hosting;

namespace Farm.GpuWorker.Tests.Support;

/// <summary>
/// Several worker hosts of one model in this process (<see cref="InProcessWorker"/>), rendering with
/// <see cref="TestDoubleRendererFactory"/> (each step takes <see cref="StepDelay"/>), for tests of the farm's
/// messaging, scheduling and failure handling.
/// </summary>
internal sealed class InProcessWorkers(IReadOnlyDictionary<string, string> settings, string model) : IAsyncDisposable
{
    private readonly List<IHost> hosts = [];

    public TimeSpan StepDelay { get; set; } = TimeSpan.Zero;

    public IReadOnlyList<IHost> Hosts => hosts;

    /// <param name="failure">The exception, if any, a job with this seed throws on this worker.</param>
    public async Task StartAsync(string id, Func<long, Exception?>? failure = null, Action<WorkerOptions>? configure = null)
    {
        var options = new WorkerOptions { WorkerId = id, HeartbeatInterval = TimeSpan.FromMilliseconds(500) };
        configure?.Invoke(options);
        Func<Farm.Shared.Contracts.RenderJob, Exception?>? jobFailure = failure is null ? null : job => job.Seeds.Select(failure).FirstOrDefault(e => e is not null);
        hosts.Add(await InProcessWorker.StartAsync(settings, options, new TestDoubleRendererFactory(model, () => StepDelay, jobFailure)));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var host in hosts) await host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            foreach (var host in hosts) host.Dispose();
        }
    }
}
