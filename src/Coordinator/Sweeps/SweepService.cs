using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Farm.Coordinator.Assets;
using Farm.Coordinator.Scheduling;
using Farm.Coordinator.Telemetry;
using Farm.Coordinator.Webhooks;
using Farm.Coordinator.Tenancy;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Sweeps;

internal abstract record SubmitResult
{
    public sealed record Accepted(string Id, long Images, long Jobs) : SubmitResult;
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : SubmitResult;
    public sealed record KeyReused : SubmitResult;
    /// <summary>The tenant's queued images plus this sweep's would pass its limit.</summary>
    public sealed record OverLimit(long Queued, long Images, long Limit) : SubmitResult;
}

/// <summary>Accepts sweeps: validates, stores the manifest, records the sweep, and wakes the publisher.</summary>
internal sealed class SweepService(IProgressStore store, IObjectStore bucket, CoordinatorOptions options, KnownModels models, SweepPublisherSignal signal,
    Microsoft.Extensions.Options.IOptions<TenantLimitsOptions> tenantLimits, AssetStore assets, Microsoft.Extensions.Options.IOptions<WebhookOptions> webhookOptions,
    WebhookQueue? webhooks = null)
{
    /// <summary>How many of a tenant's newest sweeps count towards its queued images; older ones have long finished.</summary>
    private const int QueuedScanDepth = 1000;

    private readonly ConcurrentDictionary<string, SweepPlan> plans = new(StringComparer.Ordinal);

    /// <summary>Validates and estimates without creating anything: no manifest, no sweep, no job.</summary>
    public async Task<(SweepEstimate? Estimate, IReadOnlyDictionary<string, string[]>? Errors)> DryRunAsync(string body, CancellationToken cancellation)
    {
        var parsed = await ValidateAsync(body, cancellation);
        if (!parsed.IsValid) return (null, parsed.Errors.ToDictionary());
        var plan = new SweepPlan(parsed.Spec!, parsed.Spec!.ModelAxis.Min(options.BatchSize));
        return (await SweepEstimator.EstimateAsync(plan, store, await store.ListWorkersAsync(options.WorkerTimeout)), null);
    }

    /// <summary>Every error of the spec in one round: its own, the deployment's limits, the models, assets and adapters the farm has.</summary>
    private async Task<SweepParseResult> ValidateAsync(string body, CancellationToken cancellation)
    {
        var served = await models.GetCatalogAsync();
        // Parsed first to learn which assets (init, mask) to look up: the validator needs their sizes, and does no I/O.
        var draft = SweepSpecParser.Parse(body);
        var parsed = SweepValidator.Check(draft, options.Limits, served.Models.Contains, await assets.SizesOfAsync(draft.Spec, cancellation));
        if (parsed.Spec is null) return parsed;
        parsed.Errors.AddUnreported(SweepValidator.CheckAdapters(parsed.Spec, served.Loras is { } l ? l.Contains : _ => true,
            served.Embeddings is { } e ? e.Contains : _ => true));
        if (parsed.Spec.Webhook is { } hook && !parsed.Errors.Has("webhook.url"))
        {
            if (webhooks is null) parsed.Errors.Add("webhook", "this coordinator keeps no durable queue (it runs without Redis), so it sends no webhooks");
            else if (WebhookTargets.Problem(hook.Url, webhookOptions.Value) is { } problem) parsed.Errors.Add("webhook.url", problem);
        }
        return parsed;
    }

    public async Task<SubmitResult> SubmitAsync(string body, string? idempotencyKey, string tenant, CancellationToken cancellation)
    {
        var parsed = await ValidateAsync(body, cancellation);
        if (!parsed.IsValid) return new SubmitResult.Invalid(parsed.Errors.ToDictionary());
        var spec = parsed.Spec!;

        var id = "sw-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        if (idempotencyKey is not null)
        {
            var bodyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
            // Per tenant: one tenant's key never finds (or blocks) another tenant's sweep.
            var existing = await store.ClaimIdempotencyKeyAsync($"{tenant}/{idempotencyKey}", $"{id} {bodyHash}");
            if (existing is not null)
            {
                var parts = existing.Split(' ');
                if (parts[1] != bodyHash) return new SubmitResult.KeyReused();
                var previous = await WaitForSweepAsync(parts[0], cancellation);
                if (previous is not null) return new SubmitResult.Accepted(previous.Id, previous.Total, previous.Jobs);
            }
        }

        // One batch size for the whole sweep: the smallest of its models', which every one of them can take.
        var plan = new SweepPlan(spec, spec.ModelAxis.Min(options.BatchSize));
        var limit = tenantLimits.Value.QueuedImagesFor(tenant);
        var queued = await QueuedImagesAsync(tenant);
        if (queued + plan.ImageCount > limit) return new SubmitResult.OverLimit(queued, plan.ImageCount, limit);
        var createdAt = DateTimeOffset.UtcNow;
        await bucket.PutAsync(StorageKeys.Manifest(id), Encoding.UTF8.GetBytes(SweepManifest.Write(id, spec, plan.BatchSize, createdAt, tenant, options.GridMaxMegapixels)), "application/json", cancellation);
        plans[id] = plan;
        await store.CreateSweepAsync(id, string.Join(", ", spec.ModelAxis), plan.ImageCount, plan.JobCount, plan.BatchSize, createdAt, tenant,
            options.FinishedTtl);
        if (spec.Priority != SweepPriority.Default) await store.SetPriorityAsync(id, spec.Priority);
        if (spec.Webhook is not null) await webhooks!.TrackAsync(id);
        CoordinatorTracing.RememberSubmission(id);
        signal.Wake();
        return new SubmitResult.Accepted(id, plan.ImageCount, plan.JobCount);
    }

    /// <summary>Images of the tenant's sweeps that are neither finished nor cancelled. Two submits at the same instant may both pass.</summary>
    private async Task<long> QueuedImagesAsync(string tenant)
    {
        long queued = 0;
        foreach (var id in await store.ListTenantSweepIdsAsync(tenant, QueuedScanDepth))
            if (await store.GetSweepAsync(id) is { Cancelled: false, AllDone: false } sweep)
                queued += sweep.Total - sweep.Completed - sweep.Failed;
        return queued;
    }

    /// <summary>The sweep's plan, rebuilt from its manifest in the bucket when this process did not accept it.</summary>
    public async Task<SweepPlan?> GetPlanAsync(string id, CancellationToken cancellation)
    {
        if (plans.TryGetValue(id, out var plan)) return plan;
        var manifest = await bucket.GetAsync(StorageKeys.Manifest(id), cancellation);
        if (manifest is null) return null;
        plan = SweepManifest.Read(Encoding.UTF8.GetString(manifest));
        return plans.GetOrAdd(id, plan);
    }

    // The same key arriving twice at once: the second waits briefly for the first to record its sweep.
    private async Task<SweepSnapshot?> WaitForSweepAsync(string id, CancellationToken cancellation)
    {
        for (var i = 0; i < 50; i++)
        {
            if (await store.GetSweepAsync(id) is { } snapshot) return snapshot;
            await Task.Delay(100, cancellation);
        }
        return null;
    }
}
