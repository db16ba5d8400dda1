using System.Diagnostics;
using Farm.Shared.Contracts;

namespace Farm.GpuWorker.Telemetry;

/// <summary>
/// The worker's spans, children of MassTransit's consume span (and so of the sweep's trace): <c>render</c> and
/// <c>upload</c> of one job.
/// </summary>
internal static class WorkerTracing
{
    public const string SourceName = "Farm.Worker";
    public static readonly ActivitySource Source = new(SourceName);

    public static async Task<T> TraceAsync<T>(string name, RenderJob job, string worker, Func<Task<T>> work)
    {
        using var activity = Source.StartActivity(name);
        activity?.SetTag("farm.sweep.id", job.SweepId);
        activity?.SetTag("farm.job.index", job.JobIndex);
        activity?.SetTag("farm.model", job.Model);
        activity?.SetTag("farm.images", job.Seeds.Length);
        activity?.SetTag("farm.worker.id", worker);
        try
        {
            return await work();
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e is OperationCanceledException ? "stopped" : e.Message);
            throw;
        }
    }

    public static Task TraceAsync(string name, RenderJob job, string worker, Func<Task> work) =>
        TraceAsync(name, job, worker, async () =>
        {
            await work();
            return true;
        });
}
