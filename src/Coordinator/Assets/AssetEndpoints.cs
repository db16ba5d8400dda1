using Farm.Infrastructure;
using Farm.Infrastructure.Imaging;
using Farm.Infrastructure.Storage;
using Farm.Shared.Layout;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Assets;

/// <summary>An asset as <c>GET /v1/assets/{id}</c> shows it: its size and where to download its PNG.</summary>
public sealed record AssetLink(string Id, int Width, int Height, string Url);

/// <summary><c>POST /v1/assets</c>: an image (PNG, JPEG or WebP) as the raw body, answered with its asset id and size; <c>GET /v1/assets/{id}</c>.</summary>
internal static class AssetEndpoints
{
    public static RouteGroupBuilder MapAssetApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/assets", UploadAsync).WithTags("assets")
            .Accepts<byte[]>("image/png", "image/jpeg", "image/webp", "application/octet-stream")
            .WithSummary("Upload an init image or mask (PNG, JPEG or WebP as the body); answers with its asset id");
        v1.MapGet("/assets/{id}", GetAsync).WithTags("assets").WithSummary("An asset's size and a presigned URL of its PNG");
        return v1;
    }

    private static async Task<Results<Ok<AssetLink>, NotFound>> GetAsync(string id, AssetStore assets, IObjectStore bucket, S3Options s3, CancellationToken cancellation) =>
        await assets.SizeAsync(id, cancellation) is { } size
            ? TypedResults.Ok(new AssetLink(id, size.Width, size.Height, bucket.GetUrl(StorageKeys.Asset(id), s3.UrlExpiry)))
            : TypedResults.NotFound();

    private static async Task<Results<Created<AssetInfo>, ProblemHttpResult>> UploadAsync(
        HttpRequest request, AssetStore assets, IOptions<AssetOptions> options, CancellationToken cancellation)
    {
        var max = options.Value.MaxBytes;
        if (await BoundedBody.ReadAsync(request, max, cancellation) is not { } upload)
            return TypedResults.Problem(title: "The image is too large",
                detail: $"At most {max} bytes are accepted{(request.ContentLength is { } n ? $"; this body is {n}" : "")}.",
                statusCode: StatusCodes.Status413PayloadTooLarge);
        try
        {
            var asset = await assets.AddAsync(upload, cancellation);
            return TypedResults.Created($"/v1/assets/{asset.Id}", asset);
        }
        catch (InvalidImageException e)
        {
            return TypedResults.Problem(title: "The image was refused", detail: $"Refused: {e.Message}.", statusCode: StatusCodes.Status400BadRequest);
        }
    }
}
