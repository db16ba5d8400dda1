using System.Diagnostics;
using Farm.Cli.Bench;

namespace Farm.Cli.Chaos;

/// <summary>The scenarios of <c>farm chaos</c>, each a fault (or a series) done mid-sweep; <c>all-at-once</c> does every fault in one sweep.</summary>
internal static class ChaosScenarios
{
    public static readonly IReadOnlyList<ChaosScenario> All =
    [
        new("worker-kill", "a random worker killed with kill -9 every few seconds, restarted at once", WorkerKillsAsync),
        new("coordinator-kill", "the coordinator killed with kill -9 mid-sweep, restarted after 2 s", (c, t) => Once(c, t, KillCoordinatorAsync)),
        new("rabbitmq-restart", "the RabbitMQ node stopped and started mid-sweep", (c, t) => Once(c, t, (c2, t2) => RestartServiceAsync(c2, "rabbitmq", TimeSpan.Zero, t2))),
        new("redis-restart", "Redis stopped (its AOF written) and started mid-sweep", (c, t) => Once(c, t, (c2, t2) => RestartServiceAsync(c2, "redis", TimeSpan.Zero, t2))),
        new("s3-down", "s3rver down mid-sweep for --s3-down-s seconds", (c, t) => Once(c, t, (c2, t2) => RestartServiceAsync(c2, "s3rver", c2.Settings.S3Down, t2))),
        new("rabbitmq-node-kill", "a three-node RabbitMQ cluster: node 1, the one every client tries first, killed with kill -9 mid-sweep and started after 5 s",
            (c, t) => Once(c, t, KillRabbitNodeAsync), NeedsCluster: true),
        new("all-at-once", "every fault above, one after the other, in one sweep", AllInOneSweepAsync),
    ];

    public static IReadOnlyList<string> Names => All.Select(s => s.Name).ToList();

    private static readonly Func<ChaosContext, CancellationToken, Task>[] EachFault =
    [
        KillOneWorkerAsync,
        KillCoordinatorAsync,
        (c, t) => RestartServiceAsync(c, "rabbitmq", TimeSpan.Zero, t),
        (c, t) => RestartServiceAsync(c, "redis", TimeSpan.Zero, t),
        (c, t) => RestartServiceAsync(c, "s3rver", c.Settings.S3Down, t),
    ];

    private static async Task Once(ChaosContext context, CancellationToken cancellation, Func<ChaosContext, CancellationToken, Task> fault)
    {
        if (await context.MidSweepAsync(cancellation)) await fault(context, cancellation);
    }

    private static async Task WorkerKillsAsync(ChaosContext context, CancellationToken cancellation)
    {
        if (!await context.MidSweepAsync(cancellation)) return;
        do
        {
            await KillOneWorkerAsync(context, cancellation);
            await Task.Delay(context.Settings.WorkerKillEvery, cancellation);
        } while (await context.StatusAsync(cancellation) is not { } status || !ChaosContext.Finished(status));
    }

    /// <summary>Each fault in turn, the next once the farm has counted more images after the last.</summary>
    private static async Task AllInOneSweepAsync(ChaosContext context, CancellationToken cancellation)
    {
        if (!await context.MidSweepAsync(cancellation)) return;
        for (var done = 0; done < EachFault.Length; done++)
        {
            if (await context.StatusAsync(cancellation) is { } status && ChaosContext.Finished(status))
            {
                context.NotDone(EachFault.Length - done, "the sweep ended first");
                return;
            }
            await EachFault[done](context, cancellation);
        }
    }

    /// <summary>kill -9 of one worker; its supervisor (here) starts it again at once: recovered once it heartbeats again.</summary>
    private static async Task KillOneWorkerAsync(ChaosContext context, CancellationToken cancellation)
    {
        var number = Random.Shared.Next(1, context.Settings.Workers + 1);
        var killed = context.Now;
        var killedAt = DateTimeOffset.UtcNow;
        context.Processes.Workers[number - 1].Kill();
        context.Log($"kill -9 worker {number}");
        context.Processes.RestartWorker(number);
        var id = FarmProcesses.WorkerId(context.Processes.Model, number);
        using var http = new HttpClient { BaseAddress = context.Processes.CoordinatorUrl, Timeout = TimeSpan.FromSeconds(10) };
        var limit = Stopwatch.StartNew();
        while (limit.Elapsed < context.Settings.SweepLimit)
        {
            if ((await context.Processes.HeartbeatsAsync(http, cancellation)).Any(h => h.WorkerId == id && h.StartedAt > killedAt))
            {
                context.Record($"worker {number} kill -9", 0, (context.Now - killed).TotalSeconds);
                return;
            }
            await Task.Delay(100, cancellation);
        }
        context.Record($"worker {number} kill -9", 0, double.NaN);
    }

    private static async Task KillCoordinatorAsync(ChaosContext context, CancellationToken cancellation)
    {
        var down = context.Now;
        context.Processes.Coordinator.Kill();
        context.Log("kill -9 coordinator");
        await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
        context.Processes.StartCoordinator();
        await context.Processes.WaitForCoordinatorAsync(cancellation);
        var repaired = context.Now;
        context.Log("coordinator ready again");
        await context.RecoveredAsync("coordinator kill -9", (repaired - down).TotalSeconds, repaired, cancellation);
    }

    /// <summary>kill -9 of a cluster node's Erlang VM: the clients on it reconnect to the survivors, and the quorum queues elect a leader there.</summary>
    private static async Task KillRabbitNodeAsync(ChaosContext context, CancellationToken cancellation)
    {
        var down = context.Now;
        await context.Services.KillAsync("rabbitmq", hard: true, cancellation);
        context.Log("kill -9 rabbitmq node 1");
        await context.RecoveredAsync("rabbitmq node 1 kill -9 (on the survivors)", 0, context.Now, cancellation);
        await Task.Delay(TimeSpan.FromSeconds(5), cancellation);
        await context.Services.StartAsync(cancellation);
        var repaired = context.Now;
        context.Log("rabbitmq node 1 back in the cluster");
        await context.RecoveredAsync("rabbitmq node 1 back", (repaired - down).TotalSeconds, repaired, cancellation);
    }

    private static async Task RestartServiceAsync(ChaosContext context, string service, TimeSpan downFor, CancellationToken cancellation)
    {
        var down = context.Now;
        await context.Services.KillAsync(service, hard: false, cancellation);
        context.Log($"{service} stopped");
        await Task.Delay(downFor, cancellation);
        await context.Services.StartAsync(cancellation);
        var repaired = context.Now;
        context.Log($"{service} answering again");
        await context.RecoveredAsync($"{service} restart", (repaired - down).TotalSeconds, repaired, cancellation);
    }
}
