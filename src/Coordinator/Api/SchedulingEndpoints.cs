using System.Security.Claims;
using Farm.Coordinator.Scheduling;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Webhooks;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Sweeps;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Farm.Coordinator.Api;

/// <summary>What <c>POST /v1/sweeps/{id}/retry</c> queued again.</summary>
public sealed record SweepRetried(long Images, SweepStatus Sweep);

/// <summary>A change to a running sweep: <c>{"priority": N}</c>.</summary>
public sealed record SweepChange(int? Priority);

/// <summary>Priority, pause and resume of a sweep: they change what the publisher sends next, never what is running.</summary>
internal static class SchedulingEndpoints
{
    public static void MapSchedulingApi(this RouteGroupBuilder sweeps)
    {
        sweeps.MapPatch("/{id}", ChangeAsync).WithSummary("Change a sweep's priority (0–100) while it runs");
        sweeps.MapPost("/{id}/pause", (string id, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal) =>
            SetPausedAsync(id, true, user, store, bucket, s3, signal)).WithSummary("Publish nothing more of the sweep; its running jobs finish");
        sweeps.MapPost("/{id}/resume", (string id, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal) =>
            SetPausedAsync(id, false, user, store, bucket, s3, signal)).WithSummary("Publish a paused sweep's jobs again");
        sweeps.MapPost("/{id}/retry", RetryAsync).WithSummary("Queue the sweep's failed images again (only those), reopening a failed sweep");
    }

    private static async Task<Results<Ok<SweepStatus>, NotFound, ValidationProblem>> ChangeAsync(
        string id, SweepChange change, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal)
    {
        if (await SweepEndpoints.VisibleAsync(id, user, store) is null) return TypedResults.NotFound();
        if (change.Priority is not { } priority)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["priority"] = ["is required: the only field that can change"] });
        if (!SweepPriority.IsValid(priority))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["priority"] = [$"must be between {SweepPriority.Min} and {SweepPriority.Max}"] });
        if (!await store.SetPriorityAsync(id, priority)) return TypedResults.NotFound();
        signal.Wake();
        return TypedResults.Ok(SweepEndpoints.Status((await store.GetSweepAsync(id))!, bucket, s3));
    }

    private static async Task<Results<Ok<SweepStatus>, NotFound>> SetPausedAsync(
        string id, bool paused, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3, SweepPublisherSignal signal)
    {
        if (await SweepEndpoints.VisibleAsync(id, user, store) is null || !await store.SetPausedAsync(id, paused)) return TypedResults.NotFound();
        signal.Wake();
        return TypedResults.Ok(SweepEndpoints.Status((await store.GetSweepAsync(id))!, bucket, s3));
    }

    /// <summary>
    /// Published at once, outside the dispatch policy: a sweep's failed images are few (its <c>maxFailedImages</c>
    /// ends it first), and each run of them within one job is one job.
    /// </summary>
    private static async Task<Results<Accepted<SweepRetried>, NotFound, ProblemHttpResult>> RetryAsync(
        string id, ClaimsPrincipal user, IProgressStore store, SweepService sweeps, IPublishEndpoint publisher, IObjectStore bucket, S3Options s3,
        IServiceProvider services, CancellationToken cancellation)
    {
        if (await SweepEndpoints.VisibleAsync(id, user, store) is not { } sweep || await sweeps.GetPlanAsync(id, cancellation) is not { } plan) return TypedResults.NotFound();
        if (sweep.Cancelled) return TypedResults.Problem("A cancelled sweep cannot be retried; submit it again", statusCode: StatusCodes.Status409Conflict);
        // The webhook watches it again: its retried images send events, and its next end another sweep event.
        if (plan.Spec.Webhook is not null && services.GetService<WebhookQueue>() is { } webhooks) await webhooks.TrackAsync(id);
        var failed = await store.RequeueFailedAsync(id);
        foreach (var job in plan.JobsForImages(id, failed)) await publisher.Publish(job, cancellation);
        var status = SweepEndpoints.Status((await store.GetSweepAsync(id))!, bucket, s3);
        return TypedResults.Accepted($"/v1/sweeps/{id}", new SweepRetried(failed.Count, status));
    }
}
