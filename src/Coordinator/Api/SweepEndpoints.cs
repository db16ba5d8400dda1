using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Threading.Channels;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Tenancy;
using Farm.Coordinator.Webhooks;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Farm.Coordinator.Api;

public sealed record SweepAccepted(string Id, long Images, long Jobs);
/// <summary><paramref name="Cached"/>: of the completed images, those copied from the render cache instead of rendered.</summary>
public sealed record ImageCounts(long Total, long Completed, long Failed, long Running, long Queued, long Cached = 0);
public sealed record SweepStatus(string Id, string Model, string State, ImageCounts Images, long Jobs, double Progress, double? EtaSeconds,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? ContactSheetUrl, string? Tenant = null,
    int Priority = SweepPriority.Default, string? Reason = null, IReadOnlyList<string>? BlocklistedWorkers = null, WebhookOutcomes? Webhook = null);
public sealed record ImageItem(long Index, string Id, string Prompt, long Seed, int Steps, double GuidanceScale, string Scheduler, string State,
    string? Key, string? Url, string? Error, string? Model = null, int Width = 0, int Height = 0);
public sealed record ImagePage(IReadOnlyList<ImageItem> Items, long Total);

/// <summary>
/// The /v1 API: sweeps, their images and live events, workers. A caller sees only its tenant's sweeps (another
/// tenant's is 404, as if it did not exist); admins see every sweep and the workers.
/// </summary>
internal static class SweepEndpoints
{
    private static readonly string[] States = ["completed", "failed", "queued", "running"];

    public static RouteGroupBuilder MapSweepApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.RequireAuthorization();
        var sweeps = v1.MapGroup("/sweeps").WithTags("sweeps");
        sweeps.MapPost("/", SubmitAsync).Accepts<object>("application/json", "application/yaml", "text/yaml")
            .WithSummary("Submit a sweep (JSON or YAML spec); honours Idempotency-Key; ?dryRun=true estimates it and creates nothing");
        sweeps.MapGet("/", ListAsync).WithSummary("Recent sweeps, newest first");
        sweeps.MapGet("/{id}", GetAsync).WithSummary("A sweep's state and counts");
        sweeps.MapGet("/{id}/images", ImagesAsync).WithSummary("A page of a sweep's images, with presigned URLs for finished ones");
        sweeps.MapGet("/{id}/events", EventsAsync).WithSummary("Server-sent events: status every second and live progress");
        sweeps.MapDelete("/{id}", CancelAsync).WithSummary("Cancel: queued jobs are skipped, running ones stop at their next step");
        sweeps.MapSchedulingApi();
        sweeps.MapGridApi();
        sweeps.MapImageDetailApi();
        v1.MapGet("/workers", WorkersAsync).WithTags("workers").WithSummary("Workers that sent a heartbeat recently (admin keys)")
            .RequireAuthorization(Callers.AdminPolicy);
        return v1;
    }

    private static async Task<Results<Accepted<SweepAccepted>, Ok<SweepEstimate>, ValidationProblem, ProblemHttpResult>> SubmitAsync(
        HttpRequest request, ClaimsPrincipal user, SweepService service, bool? dryRun, CancellationToken cancellation)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(cancellation);
        if (dryRun == true)
        {
            var (estimate, errors) = await service.DryRunAsync(body, cancellation);
            return estimate is not null ? TypedResults.Ok(estimate) : TypedResults.ValidationProblem(errors!, title: "The sweep spec is invalid");
        }
        var key = request.Headers["Idempotency-Key"].FirstOrDefault();
        return await service.SubmitAsync(body, string.IsNullOrWhiteSpace(key) ? null : key, user.Tenant(), cancellation) switch
        {
            SubmitResult.Accepted a => TypedResults.Accepted($"/v1/sweeps/{a.Id}", new SweepAccepted(a.Id, a.Images, a.Jobs)),
            SubmitResult.Invalid i => TypedResults.ValidationProblem(i.Errors, title: "The sweep spec is invalid"),
            SubmitResult.OverLimit o => TypedResults.Problem(title: "Too many images queued",
                detail: $"This tenant has {o.Queued} images queued and may have {o.Limit}; this sweep adds {o.Images}. Wait for sweeps to finish, or cancel some.",
                statusCode: StatusCodes.Status429TooManyRequests),
            _ => TypedResults.Problem("This Idempotency-Key was used with a different body", statusCode: StatusCodes.Status422UnprocessableEntity),
        };
    }

    private static async Task<Ok<IReadOnlyList<SweepStatus>>> ListAsync(ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3, int? limit)
    {
        var result = new List<SweepStatus>();
        var take = Math.Clamp(limit ?? 20, 1, 200);
        var ids = user.IsAdmin() ? await store.ListSweepIdsAsync(take) : await store.ListTenantSweepIdsAsync(user.Tenant(), take);
        foreach (var id in ids)
            if (await store.GetSweepAsync(id) is { } s && user.CanSee(s)) result.Add(Status(s, bucket, s3));
        return TypedResults.Ok<IReadOnlyList<SweepStatus>>(result);
    }

    private static async Task<Results<Ok<SweepStatus>, NotFound>> GetAsync(string id, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3,
        IServiceProvider services)
    {
        if (await VisibleAsync(id, user, store) is not { } s) return TypedResults.NotFound();
        var blocklist = await store.GetBlocklistAsync(id);
        var webhook = services.GetService<WebhookQueue>() is { } webhooks ? await webhooks.OutcomesAsync(id) : null;
        return TypedResults.Ok(Status(s, bucket, s3) with { BlocklistedWorkers = blocklist.Count > 0 ? blocklist : null, Webhook = webhook });
    }

    /// <summary>The sweep if the caller may see it; another tenant's sweep reads as missing, so ids leak nothing.</summary>
    internal static async Task<SweepSnapshot?> VisibleAsync(string id, ClaimsPrincipal user, IProgressStore store) =>
        await store.GetSweepAsync(id) is { } s && user.CanSee(s) ? s : null;

    internal static SweepStatus Status(SweepSnapshot s, IObjectStore bucket, S3Options s3)
    {
        double? eta = null;
        if (s.StartedAt is { } started && s.State == "running" && s.Progress > 0)
        {
            var elapsed = (DateTimeOffset.UtcNow - started).TotalSeconds;
            eta = Math.Round(elapsed * (1 - s.Progress) / s.Progress, 1);
        }
        var running = Math.Min(s.Running, Math.Max(0, s.Total - s.Completed - s.Failed));
        var sheet = s.FinishedAt is not null && !s.Cancelled ? bucket.GetUrl(StorageKeys.ContactSheet(s.Id), s3.UrlExpiry) : null;
        return new SweepStatus(s.Id, s.Model, s.State, new ImageCounts(s.Total, Math.Min(s.Completed, s.Total), s.Failed, running, s.Total - Math.Min(s.Total, s.Completed + s.Failed) - running,
            Math.Min(s.Cached, s.Total)),
            s.Jobs, Math.Round(s.Progress, 4), eta, s.CreatedAt, s.StartedAt, s.FinishedAt, sheet, s.Tenant, s.Priority, s.FailedReason);
    }

    private static async Task<Results<Ok<ImagePage>, NotFound, ValidationProblem>> ImagesAsync(
        string id, string? state, long? offset, int? limit, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, SweepService sweeps, S3Options s3, CancellationToken cancellation)
    {
        if (state is not null && !States.Contains(state))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["state"] = [$"must be one of {string.Join(", ", States)}"] });
        var (from, take) = (Math.Max(0, offset ?? 0), Math.Clamp(limit ?? 100, 1, 1000));
        if (await VisibleAsync(id, user, store) is not { } sweep || await sweeps.GetPlanAsync(id, cancellation) is not { } plan) return TypedResults.NotFound();

        var running = new HashSet<long>();
        foreach (var jobIndex in await store.GetRunningJobsAsync(id))
            if (jobIndex < plan.JobCount && plan.Job(id, jobIndex) is var job)
                for (var k = 0; k < job.Seeds.Length; k++) running.Add(job.FirstImageIndex + k);
        var items = new List<ImageItem>();
        // Without a filter, offset is an image index; with one, it counts matching images (scanning a bounded window).
        var skip = state is null ? 0 : from;
        var start = state is null ? from : 0;
        const int chunk = 500;
        for (var i = start; i < plan.ImageCount && items.Count < take && i - start < 200_000; i += chunk)
        {
            var indices = Enumerable.Range(0, (int)Math.Min(chunk, plan.ImageCount - i)).Select(k => i + k).ToList();
            var states = await store.GetImageStatesAsync(id, indices);
            for (var k = 0; k < indices.Count && items.Count < take; k++)
            {
                var s = states[k] == "queued" && running.Contains(indices[k]) ? "running" : states[k];
                if (state is not null && s != state) continue;
                if (skip-- > 0) continue;
                var p = plan.Image(indices[k]);
                var key = s == "completed" ? StorageKeys.Image(id, p.Index) : null;
                var error = s == "failed" ? await store.GetImageErrorAsync(id, p.Index) : null;
                items.Add(new ImageItem(p.Index, p.Id(), p.Prompt, p.Seed, p.Steps, p.GuidanceScale, p.Scheduler, s, key,
                    key is null ? null : bucket.GetUrl(key, s3.UrlExpiry), error, p.Model, p.Width, p.Height));
            }
        }
        var total = state switch
        {
            null => sweep.Total,
            "completed" => sweep.Completed,
            "failed" => sweep.Failed,
            "running" => sweep.Running,
            _ => sweep.Queued,
        };
        return TypedResults.Ok(new ImagePage(items, total));
    }

    private static async Task<Results<ServerSentEventsResult<string>, NotFound>> EventsAsync(string id, ClaimsPrincipal user, HttpRequest request,
        IApiKeyStore keys, IProgressStore store, IObjectStore bucket, S3Options s3, IHostApplicationLifetime lifetime, CancellationToken cancellation)
    {
        if (await VisibleAsync(id, user, store) is null) return TypedResults.NotFound();
        // A stream outlives the request's one key check: its key is looked up again with every status, so a revoke ends it.
        var secret = user.HasKey() ? ApiKeyAuthentication.BearerKey(request) : null;
        Func<Task<bool>> allowed = secret is null ? () => Task.FromResult(true) : async () => await keys.FindAsync(secret) is not null;
        return TypedResults.ServerSentEvents(Stream(id, store, bucket, s3, allowed, lifetime.ApplicationStopping, cancellation));
    }

    /// <summary>Status every second and live progress, until the sweep ends, the client leaves, its key is revoked, or the coordinator stops.</summary>
    private static async IAsyncEnumerable<SseItem<string>> Stream(string id, IProgressStore store, IObjectStore bucket, S3Options s3,
        Func<Task<bool>> allowed, CancellationToken stopping, [EnumeratorCancellation] CancellationToken aborted)
    {
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(stopping, aborted);
        var cancellation = ends.Token;
        var live = Channel.CreateBounded<SweepProgressed>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        await using var subscription = await store.SubscribeAsync(id, p => live.Writer.TryWrite(p));
        var nextStatus = DateTime.MinValue;
        while (!cancellation.IsCancellationRequested)
        {
            if (DateTime.UtcNow >= nextStatus)
            {
                nextStatus = DateTime.UtcNow.AddSeconds(1);
                if (!await allowed() || await store.GetSweepAsync(id) is not { } sweep) yield break;
                var status = Status(sweep, bucket, s3);
                yield return new SseItem<string>(FarmJson.Serialize(status), "status");
                if (status.State is "completed" or "failed" or "cancelled") yield break;
            }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            wait.CancelAfter(nextStatus - DateTime.UtcNow);
            SweepProgressed? progress = null;
            try
            {
                progress = await live.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            if (progress is not null) yield return new SseItem<string>(FarmJson.Serialize(progress), "progress");
        }
    }

    private static async Task<Results<Accepted<SweepStatus>, NotFound>> CancelAsync(string id, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3)
    {
        if (await VisibleAsync(id, user, store) is null || !await store.CancelAsync(id, DateTimeOffset.UtcNow)) return TypedResults.NotFound();
        var sweep = await store.GetSweepAsync(id);
        return TypedResults.Accepted($"/v1/sweeps/{id}", Status(sweep!, bucket, s3));
    }

    private static async Task<Ok<IReadOnlyList<WorkerHeartbeat>>> WorkersAsync(IProgressStore store, CoordinatorOptions options) =>
        TypedResults.Ok(await store.ListWorkersAsync(options.WorkerTimeout));
}
