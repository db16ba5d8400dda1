using Microsoft.Extensions.Hosting;

namespace Farm.GpuWorker.Lifecycle;

/// <summary>
/// A stopping worker's clock: from the moment the host starts stopping, jobs in progress have
/// <see cref="WorkerOptions.DrainSeconds"/> to finish; after that each one is handed back at its next step.
/// </summary>
public sealed class WorkerDrain : IDisposable
{
    private readonly CancellationTokenSource handBack = new();
    private readonly CancellationTokenRegistration registration;

    public WorkerDrain(IHostApplicationLifetime lifetime, WorkerOptions options)
    {
        Stopping = lifetime.ApplicationStopping;
        registration = lifetime.ApplicationStopping.Register(() => handBack.CancelAfter(TimeSpan.FromSeconds(options.DrainSeconds)));
    }

    /// <summary>Cancelled as soon as the host starts stopping.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>True once the drain time is over: a job still rendering goes back to its queue.</summary>
    public bool HandBackDue => handBack.IsCancellationRequested;

    public void Dispose()
    {
        registration.Dispose();
        handBack.Dispose();
    }
}
