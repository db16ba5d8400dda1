using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Farm.Coordinator.Gallery;

/// <summary>
/// The web gallery: static pages embedded in this assembly (Gallery/web, no build step), <c>index.html</c> at <c>/</c>
/// and the rest under <c>/gallery/</c>. They hold no data: everything comes from <c>/v1</c> with the tab's API key.
/// </summary>
internal static class GalleryHosting
{
    public const string AssetPath = "/gallery";

    public static WebApplication MapGallery(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(GalleryHosting).Assembly, "gallery");
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = AssetPath,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            // The pages change with the coordinator; revalidating keeps a browser from mixing two versions.
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
        app.MapGet("/", () => TypedResults.Stream(files.GetFileInfo("index.html").CreateReadStream(), "text/html; charset=utf-8")).ExcludeFromDescription();
        return app;
    }
}
