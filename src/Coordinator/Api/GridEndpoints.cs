using System.Globalization;
using System.Security.Claims;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Farm.Coordinator.Api;

/// <summary>One page of a sweep's X/Y/Z grid for Z value <see cref="Z"/>, with a presigned URL.</summary>
public sealed record GridItem(long Z, int Page, string Key, string Url);
public sealed record GridList(IReadOnlyList<GridItem> Items);

/// <summary><c>GET /v1/sweeps/{id}/grids</c>: the grids the worker that finished the sweep stored, in Z then page order.</summary>
internal static class GridEndpoints
{
    public static void MapGridApi(this RouteGroupBuilder sweeps) =>
        sweeps.MapGet("/{id}/grids", ListAsync).WithSummary("A finished sweep's X/Y/Z grids (per Z value, split into pages), with presigned URLs");

    private static async Task<Results<Ok<GridList>, NotFound>> ListAsync(string id, ClaimsPrincipal user, IProgressStore store, IObjectStore bucket, S3Options s3,
        CancellationToken cancellation)
    {
        if (await SweepEndpoints.VisibleAsync(id, user, store) is null) return TypedResults.NotFound();
        var items = new List<GridItem>();
        var prefix = StorageKeys.GridsPrefix(id);
        await foreach (var key in bucket.ListAsync(prefix, cancellation))
            if (Parse(key[prefix.Length..]) is { } at) items.Add(new GridItem(at.Z, at.Page, key, bucket.GetUrl(key, s3.UrlExpiry)));
        return TypedResults.Ok(new GridList([.. items.OrderBy(i => i.Z).ThenBy(i => i.Page)]));
    }

    // "<z>-<page>.png", as StorageKeys.Grid names them.
    private static (long Z, int Page)? Parse(string name)
    {
        if (!name.EndsWith(".png", StringComparison.Ordinal) || name[..^4].Split('-') is not [var z, var page]) return null;
        return long.TryParse(z, NumberStyles.None, CultureInfo.InvariantCulture, out var zi) && int.TryParse(page, NumberStyles.None, CultureInfo.InvariantCulture, out var p)
            ? (zi, p)
            : null;
    }
}
