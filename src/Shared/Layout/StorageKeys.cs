using System.Globalization;

namespace Farm.Shared.Layout;

/// <summary>
/// Where things live in the bucket. Everything of a sweep is below <c>sweeps/&lt;sweepId&gt;/</c>:
/// <c>manifest.json</c> (the spec as accepted), <c>images/&lt;index:D8&gt;.png</c> and <c>.json</c> (the image and its
/// record; the record is written last, so its presence means the image is complete), <c>contact-sheet.png</c>, <c>grids/&lt;z&gt;-&lt;page&gt;.png</c>.
/// Uploaded images (init images, masks) are <c>assets/&lt;sha256&gt;.png</c>, shared by every sweep that names them.
/// The render cache's index is <c>cache/&lt;tenant&gt;/&lt;identity&gt;.json</c>: where the image of that content identity was first stored.
/// </summary>
public static class StorageKeys
{
    public static string SweepPrefix(string sweepId) => $"sweeps/{sweepId}/";
    public static string Manifest(string sweepId) => $"sweeps/{sweepId}/manifest.json";
    public static string ImagesPrefix(string sweepId) => $"sweeps/{sweepId}/images/";
    public static string Image(string sweepId, long index) => $"sweeps/{sweepId}/images/{Index(index)}.png";
    public static string ImageRecord(string sweepId, long index) => $"sweeps/{sweepId}/images/{Index(index)}.json";
    public static string ContactSheet(string sweepId) => $"sweeps/{sweepId}/contact-sheet.png";
    public static string GridsPrefix(string sweepId) => $"sweeps/{sweepId}/grids/";
    /// <summary>Page <paramref name="page"/> of the X/Y/Z grid for Z value <paramref name="z"/> (both from 0).</summary>
    public static string Grid(string sweepId, long z, int page) => $"sweeps/{sweepId}/grids/{z.ToString(CultureInfo.InvariantCulture)}-{page.ToString(CultureInfo.InvariantCulture)}.png";
    public const string ModelsPrefix = "models/";
    /// <summary>Written last by <c>farm model push</c>: a model is in the bucket once its manifest is.</summary>
    public static string ModelManifest(string model) => $"models/{model}/manifest.json";
    /// <summary>A file of a pushed model, by its path in a worker's models folder (e.g. <c>sd15/unet/…</c>, <c>sdxl.safetensors</c>).</summary>
    public static string ModelFile(string model, string path) => $"models/{model}/files/{path}";
    public static string Asset(string assetId) => $"assets/{assetId}.png";
    /// <summary>The render cache's entry for an image identity, per tenant (a tenant never reads another's images).</summary>
    public static string CacheEntry(string tenant, string identity) => $"cache/{tenant}/{identity}.json";

    private static string Index(long index) => index.ToString("D8", CultureInfo.InvariantCulture);
}

/// <summary>
/// Redis layout of the live view, all below a configurable prefix (default <c>farm:</c>):
/// <list type="bullet">
/// <item><c>sweep:{id}</c> hash: model, total, jobs, createdAt, startedAt, finishedAt, completed, failed, cached (of completed, those copied from the render cache), cancelled, publishedJobs,
/// publishedImages (the publishing cursor), priority, paused, failedReason (ended early), ttl (seconds the sweep's keys live once it
/// finished: every key below but the lists and the channel expires then; none when absent)</item>
/// <item><c>sweep:{id}:failed-jobs:{worker}</c> set of job indices the worker failed; <c>sweep:{id}:job-failed-by:{job}</c>
/// set of workers that failed the job; <c>sweep:{id}:blocklist</c> set of workers that
/// hand the sweep's jobs back; <c>sweep:{id}:failure-keys</c> set of the names of those keys, so they expire with the sweep</item>
/// <item><c>sweep:{id}:done</c> bitmap, bit i set once image i is counted (completed or failed), so a redelivery never counts
/// twice: an eighth of a byte per image (125 kB for a million)</item>
/// <item><c>sweep:{id}:failed</c> hash index → error</item>
/// <item><c>sweep:{id}:running</c> hash jobIndex → "images step totalSteps" of jobs rendering now</item>
/// <item><c>job:{id}:{jobIndex}</c> hash: state, step, totalSteps, worker, updatedAt (expires after a day, or the sweep's ttl if shorter)</item>
/// <item><c>progress:{id}</c> pub/sub channel of <see cref="Contracts.SweepProgressed"/> JSON</item>
/// <item><c>sweeps</c> sorted set of sweep ids by creation time (and <c>tenant:{t}:sweeps</c> per tenant; listing drops expired ones); <c>workers</c> hash id → heartbeat JSON;
/// <c>idempotency:{key}</c> → "sweepId bodyHash"</item>
/// </list>
/// </summary>
public sealed record ProgressKeys(string Prefix)
{
    public string Sweep(string id) => $"{Prefix}sweep:{id}";
    public string Done(string id) => $"{Prefix}sweep:{id}:done";
    public string Failed(string id) => $"{Prefix}sweep:{id}:failed";
    public string Running(string id) => $"{Prefix}sweep:{id}:running";
    public string Job(string id, long jobIndex) => JobPrefix(id) + jobIndex.ToString(CultureInfo.InvariantCulture);
    public string JobPrefix(string id) => $"{Prefix}job:{id}:";
    public string WorkerFailedJobs(string id, string worker) => $"{Prefix}sweep:{id}:failed-jobs:{worker}";
    public string JobFailedWorkers(string id, long jobIndex) => $"{Prefix}sweep:{id}:job-failed-by:{jobIndex.ToString(CultureInfo.InvariantCulture)}";
    public string Blocklist(string id) => $"{Prefix}sweep:{id}:blocklist";
    public string FailureKeys(string id) => $"{Prefix}sweep:{id}:failure-keys";
    public string Channel(string id) => $"{Prefix}progress:{id}";
    public string Sweeps => $"{Prefix}sweeps";
    /// <summary>Sorted set of the sweeps not yet known to be finished, oldest first: what the publisher and supervisor scan.</summary>
    public string OpenSweeps => $"{Prefix}open-sweeps";
    public string TenantSweeps(string tenant) => $"{Prefix}tenant:{tenant}:sweeps";
    public string ApiKeys => $"{Prefix}apikeys";
    public string Workers => $"{Prefix}workers";
    /// <summary>Hash model → measured render seconds per megapixel per step (a moving average), for dry-run estimates.</summary>
    public string RenderSpeeds => $"{Prefix}render-speeds";
    public string Idempotency(string key) => $"{Prefix}idempotency:{key}";
}
