using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Webhooks;

/// <summary>
/// Sends due deliveries, at most <see cref="WebhookOptions.MaxConcurrentDeliveries"/> at once, each on its own task so a
/// slow receiver holds one slot and never the queue. A failure (an error, a timeout, any status but 2xx) is retried
/// with exponential backoff and jitter until <see cref="WebhookOptions.MaxRetryDuration"/> after it was first due.
/// </summary>
internal sealed class WebhookSender(WebhookQueue queue, WebhookSecrets secrets, IHttpClientFactory clients, IOptions<WebhookOptions> options,
    ILogger<WebhookSender> logger) : BackgroundService
{
    public const string ClientName = "farm-webhooks";

    private readonly ConcurrentDictionary<string, Task> inFlight = new(StringComparer.Ordinal);

    private WebhookOptions Options => options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var claimed = 0;
                try
                {
                    claimed = await ClaimAndStartAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug("webhook delivery round skipped: {Error}", e.Message);
                }
                // A full round means more may be due: go again at once, else wait for the next poll.
                if (claimed == 0 || inFlight.Count >= Options.MaxConcurrentDeliveries) await Task.Delay(Options.PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        // Deliveries cut short stay leased in Redis and come due again after a restart.
        await Task.WhenAny(Task.WhenAll(inFlight.Values), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
    }

    private async Task<int> ClaimAndStartAsync(CancellationToken stopping)
    {
        var free = Options.MaxConcurrentDeliveries - inFlight.Count;
        if (free <= 0) return 0;
        var now = DateTimeOffset.UtcNow;
        // The lease outlasts the POST's timeout, so a delivery in flight never comes due twice.
        var due = await queue.ClaimDueAsync(now, now + Options.Timeout + TimeSpan.FromSeconds(30), free);
        foreach (var delivery in due)
            inFlight[delivery.Id] = Task.Run(async () =>
            {
                try
                {
                    await DeliverAsync(delivery, stopping);
                }
                finally
                {
                    inFlight.TryRemove(delivery.Id, out _);
                }
            }, CancellationToken.None);
        return due.Count;
    }

    private async Task DeliverAsync(WebhookDelivery delivery, CancellationToken stopping)
    {
        string error;
        try
        {
            var body = Encoding.UTF8.GetBytes(delivery.Body);
            using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add("X-Farm-Event", delivery.Event);
            request.Headers.Add("X-Farm-Delivery", delivery.Id);
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(await secrets.GetOrCreateAsync(delivery.Tenant), body));
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stopping);
            if (response.IsSuccessStatusCode)
            {
                await queue.DeliveredAsync(delivery);
                logger.LogDebug("webhook {Delivery} delivered to {Url} after {Attempts} failed attempts", delivery.Id, delivery.Url, delivery.Attempts);
                return;
            }
            error = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            error = e is TaskCanceledException ? $"no answer within {Options.Timeout.TotalSeconds:0.#}s" : e.Message;
        }
        await FailedAsync(delivery, error);
    }

    private async Task FailedAsync(WebhookDelivery delivery, string error)
    {
        var now = DateTimeOffset.UtcNow;
        await queue.RecordErrorAsync(delivery, error, now);
        var deadline = delivery.FirstDueAt + Options.MaxRetryDuration;
        if (now >= deadline)
        {
            await queue.GiveUpAsync(delivery);
            logger.LogWarning("webhook {Delivery} to {Url} given up after {Attempts} attempts over {Duration}: {Error}", delivery.Id, delivery.Url,
                delivery.Attempts + 1, now - delivery.FirstDueAt, error);
            return;
        }
        var next = now + Backoff(delivery.Attempts + 1);
        await queue.RetryAsync(delivery, next < deadline ? next : deadline);
        logger.LogInformation("webhook {Delivery} to {Url} failed (attempt {Attempt}): {Error}; retrying", delivery.Id, delivery.Url, delivery.Attempts + 1, error);
    }

    /// <summary>Doubling from the initial backoff, capped, with "equal jitter" (half fixed, half random) so retries of many deliveries spread out.</summary>
    internal TimeSpan Backoff(int failures)
    {
        var doubled = Options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        var capped = Math.Min(doubled, Options.MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + Random.Shared.NextDouble() * capped / 2);
    }
}
