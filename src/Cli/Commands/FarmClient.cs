using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Farm.Coordinator.Api;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Assets;
using Farm.Shared.Contracts;

namespace Farm.Cli.Commands;

/// <summary>
/// The coordinator's HTTP API as the CLI uses it (`--coordinator URL`, else FARM_COORDINATOR_URL, else http://127.0.0.1:8080),
/// with the API key from `--api-key`, else FARM_API_KEY, sent on API requests only (never to presigned image URLs).
/// </summary>
internal sealed class FarmClient(Uri baseUrl, string? apiKey = null) : IDisposable
{
    private readonly HttpClient http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };

    public static FarmClient From(string? coordinator, string? apiKey = null) =>
        new(new Uri((coordinator ?? Environment.GetEnvironmentVariable("FARM_COORDINATOR_URL") ?? "http://127.0.0.1:8080").TrimEnd('/') + "/"),
            apiKey ?? Environment.GetEnvironmentVariable("FARM_API_KEY"));

    public Task<SweepAccepted> SubmitAsync(string spec, string? idempotencyKey, CancellationToken cancellation) =>
        PostSpecAsync<SweepAccepted>("v1/sweeps", spec, idempotencyKey, cancellation);

    /// <summary>The coordinator's estimate of the spec (<c>?dryRun=true</c>); nothing is created.</summary>
    public Task<SweepEstimate> DryRunAsync(string spec, CancellationToken cancellation) =>
        PostSpecAsync<SweepEstimate>("v1/sweeps?dryRun=true", spec, null, cancellation);

    private async Task<T> PostSpecAsync<T>(string path, string spec, string? idempotencyKey, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(spec, Encoding.UTF8, spec.TrimStart().StartsWith('{') ? "application/json" : "application/yaml"),
        };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await Send(request, cancellation);
        if ((int)response.StatusCode == 400)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(FarmJson.Options, cancellation);
            throw new UsageException(SpecErrors.Describe(problem));
        }
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<T>(FarmJson.Options, cancellation))!;
    }

    /// <summary>Uploads an image file as an asset; a refusal (not an image, too large) is a usage error naming the file.</summary>
    public async Task<AssetInfo> UploadAssetAsync(byte[] image, string name, CancellationToken cancellation)
    {
        using var response = await Send(new HttpRequestMessage(HttpMethod.Post, "v1/assets") { Content = new ByteArrayContent(image) }, cancellation);
        if ((int)response.StatusCode is 400 or 413)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(FarmJson.Options, cancellation);
            throw new UsageException($"{name}: the coordinator refused the image: {problem.GetProperty("detail").GetString()}");
        }
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<AssetInfo>(FarmJson.Options, cancellation))!;
    }

    public async Task<SweepStatus> StatusAsync(string id, CancellationToken cancellation)
    {
        using var response = await Send(new HttpRequestMessage(HttpMethod.Get, $"v1/sweeps/{Uri.EscapeDataString(id)}"), cancellation);
        if ((int)response.StatusCode == 404) throw new UsageException($"no sweep '{id}'");
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<SweepStatus>(FarmJson.Options, cancellation))!;
    }

    /// <summary>A change to a sweep: <paramref name="path"/> below <c>v1/sweeps/{id}</c> (empty for the sweep itself), with an optional JSON body.</summary>
    public async Task<T> ChangeSweepAsync<T>(string id, HttpMethod method, string path, object? body, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, $"v1/sweeps/{Uri.EscapeDataString(id)}{path}");
        if (body is not null) request.Content = JsonContent.Create(body, options: FarmJson.Options);
        using var response = await Send(request, cancellation);
        if ((int)response.StatusCode == 404) throw new UsageException($"no sweep '{id}'");
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<T>(FarmJson.Options, cancellation))!;
    }

    public async Task<GridList> GridsAsync(string id, CancellationToken cancellation)
    {
        using var response = await Send(new HttpRequestMessage(HttpMethod.Get, $"v1/sweeps/{Uri.EscapeDataString(id)}/grids"), cancellation);
        if ((int)response.StatusCode == 404) throw new UsageException($"no sweep '{id}'");
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<GridList>(FarmJson.Options, cancellation))!;
    }

    public async Task<ImagePage> ImagesAsync(string id, string? state, long offset, int limit, CancellationToken cancellation)
    {
        var query = $"v1/sweeps/{Uri.EscapeDataString(id)}/images?offset={offset}&limit={limit}" + (state is null ? "" : $"&state={state}");
        using var response = await Send(new HttpRequestMessage(HttpMethod.Get, query), cancellation);
        if ((int)response.StatusCode == 404) throw new UsageException($"no sweep '{id}'");
        await EnsureOk(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<ImagePage>(FarmJson.Options, cancellation))!;
    }

    public async Task<byte[]> DownloadAsync(string url, CancellationToken cancellation)
    {
        var uri = new Uri(url);
        if (uri.IsFile) return await File.ReadAllBytesAsync(uri.LocalPath, cancellation);
        return await http.GetByteArrayAsync(uri, cancellation);
    }

    /// <summary>Polls until the sweep ends, drawing a progress bar unless told not to (for --json).</summary>
    public async Task<SweepStatus> WatchAsync(string id, CancellationToken cancellation, bool drawProgress = true)
    {
        var bar = drawProgress ? new ProgressBar(id) : null;
        while (true)
        {
            var status = await StatusAsync(id, cancellation);
            var images = status.Images;
            var finished = status.State is "completed" or "failed" or "cancelled";
            bar?.Report(status.Progress, 1, $"{images.Completed}/{images.Total} images, {images.Running} running, {images.Failed} failed", final: finished);
            if (finished)
            {
                bar?.Done();
                return status;
            }
            await Task.Delay(500, cancellation);
        }
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, CancellationToken cancellation)
    {
        if (!string.IsNullOrWhiteSpace(apiKey)) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey.Trim());
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellation);
        }
        catch (HttpRequestException e)
        {
            throw new UsageException($"cannot reach the coordinator at {http.BaseAddress}: {e.Message} (start one with ./farm coordinator, or pass --coordinator URL)");
        }
        if ((int)response.StatusCode == 401)
        {
            response.Dispose();
            throw new UsageException(string.IsNullOrWhiteSpace(apiKey)
                ? $"the coordinator at {http.BaseAddress} needs an API key: set FARM_API_KEY or pass --api-key (an admin makes one with ./farm keys create --tenant NAME)"
                : $"the coordinator at {http.BaseAddress} refused this API key (unknown or revoked)");
        }
        return response;
    }

    private static async Task EnsureOk(HttpResponseMessage response, CancellationToken cancellation)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellation);
        throw new UsageException($"the coordinator answered {(int)response.StatusCode}: {body}");
    }

    public void Dispose() => http.Dispose();
}
