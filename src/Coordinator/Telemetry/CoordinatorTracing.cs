using System.Collections.Concurrent;
using System.Diagnostics;

namespace Farm.Coordinator.Telemetry;

/// <summary>
/// The coordinator's spans. A sweep's jobs are published later, in the background, so the publisher continues the trace
/// of the <c>POST /v1/sweeps</c> that accepted it: its publish span, and through MassTransit's headers every consume,
/// render and upload of the sweep's jobs, are children of that request.
/// </summary>
public static class CoordinatorTracing
{
    public const string SourceName = "Farm.Coordinator";
    public static readonly ActivitySource Source = new(SourceName);

    // Per process, in memory: a restarted coordinator publishes the rest of a sweep in traces of its own.
    private static readonly ConcurrentDictionary<string, ActivityContext> Submitted = new(StringComparer.Ordinal);
    private const int MaxRemembered = 10_000;

    /// <summary>Starts the span of one publishing round of a sweep, as a child of the request that submitted it.</summary>
    public static Activity? StartPublishing(string sweepId)
    {
        var parent = Submitted.TryGetValue(sweepId, out var context) ? context : default;
        var activity = Source.StartActivity("publish jobs", ActivityKind.Internal, parent);
        activity?.SetTag("farm.sweep.id", sweepId);
        return activity;
    }

    /// <summary>
    /// Called as a sweep is accepted, inside the request that submitted it and before the publisher is woken, so its
    /// first jobs are already published in that request's trace.
    /// </summary>
    internal static void RememberSubmission(string sweepId)
    {
        if (Activity.Current is not { } activity) return;
        activity.SetTag("farm.sweep.id", sweepId);
        if (Submitted.Count >= MaxRemembered) Submitted.Clear();
        Submitted.TryAdd(sweepId, activity.Context);
    }

    internal static void Forget(string sweepId) => Submitted.TryRemove(sweepId, out _);
}
