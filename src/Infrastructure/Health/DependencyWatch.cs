using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Farm.Infrastructure.Health;

/// <summary>A service the process needs, where it is (no credentials), and the setting that moves it.</summary>
public sealed record DependencyAddress(string Name, string Address, string Setting);

/// <summary>
/// Says, in a few lines, which service is unreachable and what to do: one line when a dependency goes away (its
/// address and the hint), one a minute while it stays away, one when it is back. The probes are the readiness
/// checks tagged <see cref="Tag"/>, so what is logged and what <c>/healthz/ready</c> answers never disagree.
/// </summary>
public sealed class DependencyWatch(HealthCheckService health, IEnumerable<DependencyAddress> addresses, ILogger<DependencyWatch> logger)
    : BackgroundService
{
    public const string Tag = "dependency";
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan ReminderInterval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, DependencyAddress> known = addresses.ToDictionary(a => a.Name);
    // Since when a dependency has failed its probes, and when that was last said (null: not yet).
    private readonly Dictionary<string, (DateTime Since, DateTime? Said)> down = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var report = await health.CheckHealthAsync(r => r.Tags.Contains(Tag), stoppingToken);
                foreach (var (name, entry) in report.Entries) Observe(name, entry, DateTime.UtcNow);
                await Task.Delay(ProbeInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Observe(string name, HealthReportEntry entry, DateTime now)
    {
        var where = known.TryGetValue(name, out var a) ? a : new DependencyAddress(name, "(address not known)", "");
        var healthy = entry.Status == HealthStatus.Healthy;
        if (!down.TryGetValue(name, out var state))
        {
            // One failed probe is not an outage yet: a bus still connecting at start fails its first one.
            if (!healthy) down[name] = (now, null);
        }
        else if (healthy)
        {
            down.Remove(name);
            if (state.Said is not null)
                logger.LogInformation("{Dependency} at {Address} is back after {Seconds:F0} s", name, where.Address, (now - state.Since).TotalSeconds);
        }
        else if (state.Said is null)
        {
            down[name] = (state.Since, now);
            var setting = where.Setting.Length > 0 ? $", or point {where.Setting} at yours" : "";
            logger.LogWarning("{Dependency} at {Address} is unreachable ({Reason}); waiting for it. Start the local services with ./farm services start{Setting}",
                name, where.Address, entry.Description ?? entry.Status.ToString(), setting);
        }
        else if (now - state.Said >= ReminderInterval)
        {
            down[name] = (state.Since, now);
            logger.LogWarning("still waiting for {Dependency} at {Address} ({Seconds:F0} s)", name, where.Address, (now - state.Since).TotalSeconds);
        }
    }
}
