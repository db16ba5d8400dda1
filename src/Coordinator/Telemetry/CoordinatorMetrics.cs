using System.Diagnostics.Metrics;

namespace Farm.Coordinator.Telemetry;

/// <summary>What the coordinator's gauges show, read from the live view by <see cref="CoordinatorMetricsSampler"/>.</summary>
internal sealed record CoordinatorSample(
    IReadOnlyDictionary<string, long> SweepsByState,
    long JobsOutstanding,
    IReadOnlyDictionary<string, long> QueueDepthByModel,
    long WorkersAlive,
    double PublishLagSeconds)
{
    public static readonly IReadOnlyList<string> States = ["queued", "running", "completed", "failed", "cancelled"];

    public static CoordinatorSample Empty { get; } = new(States.ToDictionary(s => s, _ => 0L), 0, new Dictionary<string, long>(), 0, 0);
}

/// <summary>
/// The coordinator's instruments (Prometheus names in the README, "Metrics"). They are gauges of the farm's state,
/// so they read the latest sample instead of querying Redis and RabbitMQ on every scrape.
/// </summary>
internal sealed class CoordinatorMetrics
{
    public const string MeterName = "Farm.Coordinator";

    private volatile CoordinatorSample sample = CoordinatorSample.Empty;

    public CoordinatorMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(MeterName);
        meter.CreateObservableGauge("farm.sweeps", () => sample.SweepsByState.Select(s => new Measurement<long>(s.Value, new KeyValuePair<string, object?>("state", s.Key))),
            "{sweep}", "Sweeps by state (queued, running, completed, failed, cancelled) among the newest ones");
        meter.CreateObservableGauge("farm.jobs.outstanding", () => sample.JobsOutstanding,
            "{job}", "Jobs published and not finished, over the sweeps still running");
        meter.CreateObservableGauge("farm.queue.depth", () => sample.QueueDepthByModel.Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>("model", q.Key))),
            "{job}", "Jobs waiting in a model's queue (ready, not yet delivered to a worker)");
        meter.CreateObservableGauge("farm.workers.alive", () => sample.WorkersAlive,
            "{worker}", "Workers whose heartbeat is recent");
        meter.CreateObservableGauge("farm.publish.lag", () => sample.PublishLagSeconds,
            "s", "How long the oldest accepted sweep has waited for its first job to be published");
    }

    public void Update(CoordinatorSample next) => sample = next;
}
