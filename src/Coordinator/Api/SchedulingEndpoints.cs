using Farm.Coordinator.Scheduling;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Sweeps;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Farm.Coordinator.Api;

/// <summary>A change to a running sweep: <c>{"priority": N}</c>.</summary>
public sealed record SweepChange(int? Priority);

/// <summary>Priority, pause and resume of a sweep: they change what the publisher sends next, never what is running.</summary>
internal static class SchedulingEndpoints
{
    public static void MapSchedulingApi(this RouteGroupBuilder sweeps)
    {
        sweeps.MapPatch("/{id}", ChangeAsync).WithSummary("Change a sweep's priority (0–100) while it runs");
        sweeps.MapPost("/{id}/pause", (string id, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal) =>
            SetPausedAsync(id, true, store, bucket, s3, signal)).WithSummary("Publish nothing more of the sweep; its running jobs finish");
        sweeps.MapPost("/{id}/resume", (string id, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal) =>
            SetPausedAsync(id, false, store, bucket, s3, signal)).WithSummary("Publish a paused sweep's jobs again");
    }

    private static async Task<Results<Ok<SweepStatus>, NotFound, ValidationProblem>> ChangeAsync(
        string id, SweepChange change, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal)
    {
        if (change.Priority is not { } priority)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["priority"] = ["is required: the only field that can change"] });
        if (!SweepPriority.IsValid(priority))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["priority"] = [$"must be between {SweepPriority.Min} and {SweepPriority.Max}"] });
        if (!await store.SetPriorityAsync(id, priority)) return TypedResults.NotFound();
        signal.Wake();
        return TypedResults.Ok(SweepEndpoints.Status((await store.GetSweepAsync(id))!, bucket, s3));
    }

    private static async Task<Results<Ok<SweepStatus>, NotFound>> SetPausedAsync(
        string id, bool paused, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal)
    {
        if (!await store.SetPausedAsync(id, paused)) return TypedResults.NotFound();
        signal.Wake();
        return TypedResults.Ok(SweepEndpoints.Status((await store.GetSweepAsync(id))!, bucket, s3));
    }
}
