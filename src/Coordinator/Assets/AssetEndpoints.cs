using Farm.Infrastructure.Imaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Assets;

/// <summary><c>POST /v1/assets</c>: an image (PNG, JPEG or WebP) as the raw body, answered with its asset id and size.</summary>
internal static class AssetEndpoints
{
    public static RouteGroupBuilder MapAssetApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/assets", UploadAsync).WithTags("assets")
            .Accepts<byte[]>("image/png", "image/jpeg", "image/webp", "application/octet-stream")
            .WithSummary("Upload an init image or mask (PNG, JPEG or WebP as the body); answers with its asset id");
        return v1;
    }

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
