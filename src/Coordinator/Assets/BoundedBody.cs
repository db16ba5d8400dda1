using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Farm.Coordinator.Assets;

/// <summary>Reads a request body of at most a given length, stopping as soon as it is longer.</summary>
internal static class BoundedBody
{
    /// <summary>The body, or null when it is longer than <paramref name="maxBytes"/> (by its Content-Length or as it streams).</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) return null;
        // Kestrel's own limit (30 MB by default) would cut a larger configured maximum short; ours is checked below.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = null;
        using var body = new MemoryStream((int)Math.Min(request.ContentLength ?? 64 * 1024, 16 * 1024 * 1024));
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, cancellation)) > 0)
        {
            if (body.Length + read > maxBytes) return null;
            body.Write(buffer, 0, read);
        }
        return body.ToArray();
    }
}
