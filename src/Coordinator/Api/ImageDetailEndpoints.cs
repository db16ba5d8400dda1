using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Farm.Coordinator.Sweeps;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Farm.Coordinator.Api;

/// <summary>
/// One image with everything the gallery's lightbox shows: its parameters, and for a finished image the
/// AUTOMATIC1111 infotext its PNG carries, the worker and the render time (from its record in the bucket).
/// </summary>
public sealed record ImageDetail(ImageItem Image, string? NegativePrompt, int ClipSkip, IReadOnlyList<JobLora>? Loras, IReadOnlyList<string>? Embeddings,
    double? Strength, string? Infotext, string? Worker, double? RenderSeconds);

/// <summary><c>GET /v1/sweeps/{id}/images/{index}</c>.</summary>
internal static class ImageDetailEndpoints
{
    public static void MapImageDetailApi(this RouteGroupBuilder sweeps) =>
        sweeps.MapGet("/{id}/images/{index:long}", GetAsync).WithSummary("One image: its parameters, and once finished its AUTOMATIC1111 infotext and presigned URL");

    private static async Task<Results<Ok<ImageDetail>, NotFound>> GetAsync(string id, long index, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket,
        SweepService sweeps, S3Options s3, CancellationToken cancellation)
    {
        if (await SweepEndpoints.VisibleAsync(id, user, store) is null || await sweeps.GetPlanAsync(id, cancellation) is not { } plan) return TypedResults.NotFound();
        if (index < 0 || index >= plan.ImageCount) return TypedResults.NotFound();
        var p = plan.Image(index);
        var state = (await store.GetImageStatesAsync(id, [index]))[0];
        if (state == "queued" && (await store.GetRunningJobsAsync(id)).Contains(plan.JobIndexOf(index))) state = "running";
        var record = state == "completed" ? await RecordAsync(bucket, id, index, cancellation) : null;
        var key = state == "completed" ? StorageKeys.Image(id, index) : null;
        var error = state == "failed" ? await store.GetImageErrorAsync(id, index) : null;
        var item = new ImageItem(p.Index, p.Id(), p.Prompt, p.Seed, p.Steps, p.GuidanceScale, p.Scheduler, state, key,
            key is null ? null : bucket.GetUrl(key, s3.UrlExpiry), error, p.Model, p.Width, p.Height);
        return TypedResults.Ok(new ImageDetail(item, p.NegativePrompt, p.ClipSkip, p.Loras is { Length: > 0 } ? p.Loras : null,
            p.Embeddings is { Length: > 0 } ? p.Embeddings : null, p.Strength, record?.Infotext, record?.Worker, record?.RenderSeconds));
    }

    // Records written before the infotext existed parse too (it is then null); a damaged one reads as missing.
    private static async Task<ImageRecord?> RecordAsync(IObjectStore bucket, string id, long index, CancellationToken cancellation)
    {
        if (await bucket.GetAsync(StorageKeys.ImageRecord(id, index), cancellation) is not { } bytes) return null;
        try
        {
            return FarmJson.Deserialize<ImageRecord>(Encoding.UTF8.GetString(bytes));
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
