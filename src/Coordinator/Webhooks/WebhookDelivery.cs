using Farm.Coordinator.Api;
using Farm.Shared.Sweeps;

namespace Farm.Coordinator.Webhooks;

/// <summary>One queued POST: the body is fixed when queued, so every retry sends (and signs) the same bytes.</summary>
internal sealed record WebhookDelivery(string Id, string SweepId, string Tenant, string Url, string Event, string Body, int Attempts, DateTimeOffset FirstDueAt);

/// <summary>What a sweep's webhook did so far, shown in its status: delivered, given up after retrying, retrying now.</summary>
public sealed record WebhookOutcomes(long Delivered, long Failed, long Retrying, string? LastError, DateTimeOffset? LastErrorAt);

/// <summary>The body of an <c>image</c> event: one completed image, with a presigned URL valid for <c>S3:UrlExpiry</c> from when it was queued.</summary>
internal sealed record ImageEventBody(string Event, string DeliveryId, string SweepId, long Index, string ImageId, string Key, string Url,
    ImageParams Parameters, DateTimeOffset QueuedAt);

/// <summary>The body of a <c>sweep</c> event: the sweep ended (completed, failed or cancelled), with its final counts.</summary>
internal sealed record SweepEventBody(string Event, string DeliveryId, string SweepId, string State, ImageCounts Images, DateTimeOffset? FinishedAt,
    string? Reason, DateTimeOffset QueuedAt);
