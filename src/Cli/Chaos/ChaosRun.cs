using System.Diagnostics;
using System.Globalization;
using Farm.Cli.Bench;
using Farm.Cli.Commands;
using Farm.Coordinator.Api;

namespace Farm.Cli.Chaos;

/// <summary>
/// One <c>farm chaos</c> run: a coordinator and N simulated workers as child processes (<see cref="FarmProcesses"/>), then
/// per scenario one sweep of M images with its faults done mid-sweep, and a verdict read from the bucket, the sweep's
/// state and the workers' heartbeats. The last line is machine-readable: <c>chaos scenarios=… passed=… lost=… duplicated=… max_recovered_s=…</c>.
/// </summary>
internal sealed class ChaosRun(ChaosSettings settings, BenchResources resources, FarmProcesses processes, ServiceSet services)
{
    /// <summary>A worker is wedged when it has not heartbeated within this (the heartbeat is every 2 s)...</summary>
    private static readonly TimeSpan HeartbeatAge = TimeSpan.FromSeconds(10);
    /// <summary>...or is still busy this long after its sweep ended (the worker that counts the last image files the contact sheet, ~20 s on a busy 2-core machine).</summary>
    private static readonly TimeSpan IdleGrace = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellation)
    {
        var s = settings;
        Console.WriteLine(Invariant($"chaos: {s.Workers} simulated workers ({s.Steps} steps of {s.StepMs} ms), {s.Images} images a scenario, scenarios {string.Join(", ", s.Scenarios)}"));
        Console.WriteLine($"  model {resources.Model}, bucket {resources.Bucket}, redis prefix {resources.RedisPrefix}, services {services.Directory}");
        await resources.CreateBucketAsync(cancellation);
        processes.StartCoordinator();
        await processes.WaitForCoordinatorAsync(cancellation);
        for (var i = 1; i <= s.Workers; i++) processes.StartWorker(i, s.StepMs);
        await processes.WaitForWorkersAsync(s.Workers, cancellation);
        Console.WriteLine(Invariant($"  coordinator on {processes.CoordinatorUrl}, {s.Workers} workers up"));

        var results = new List<(ChaosScenario Scenario, bool Passed, BucketCheck? Bucket, IReadOnlyList<FaultRecord> Faults)>();
        foreach (var scenario in ChaosScenarios.All.Where(c => s.Scenarios.Contains(c.Name)))
            results.Add(await RunScenarioAsync(scenario, cancellation));

        var passed = results.Count(r => r.Passed);
        var recoveries = results.SelectMany(r => r.Faults).Select(f => f.RecoveredSeconds).ToList();
        var maxRecovered = recoveries.Count == 0 ? double.NaN : recoveries.Max();
        Console.WriteLine(Invariant($"chaos scenarios={results.Count} passed={passed} lost={results.Sum(r => r.Bucket?.Lost ?? s.Images)} ")
                          + Invariant($"duplicated={results.Sum(r => r.Bucket?.Duplicated ?? 0)} faults={recoveries.Count} max_recovered_s={maxRecovered:F1} images={s.Images} workers={s.Workers}"));
        return passed == results.Count ? 0 : 1;
    }

    private async Task<(ChaosScenario, bool, BucketCheck?, IReadOnlyList<FaultRecord>)> RunScenarioAsync(ChaosScenario scenario, CancellationToken cancellation)
    {
        Console.WriteLine($"  {scenario.Name}: {scenario.Description}");
        var clock = Stopwatch.StartNew();
        var spec = Invariant($$"""{"model":"{{resources.Model}}","prompts":["chaos {{scenario.Name}}"],"seeds":{"start":1,"count":{{settings.Images}}},"steps":{{settings.Steps}},"width":64,"height":64,"cache":false}""");
        SweepAccepted accepted;
        using (var client = new FarmClient(processes.CoordinatorUrl)) accepted = await client.SubmitAsync(spec, null, cancellation);
        Console.WriteLine(Invariant($"    sweep {accepted.Id}: {accepted.Images} images, {accepted.Jobs} jobs"));
        var context = new ChaosContext(settings, processes, services, accepted.Id, clock);

        var problems = new List<string>();
        var disrupt = scenario.Disrupt(context, cancellation);
        var final = await FinishAsync(context, cancellation);
        try
        {
            await disrupt;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            problems.Add($"the fault itself went wrong: {e.Message}");
        }
        // A fault may still be down if the sweep ended first (a short sweep): the check below needs all of it back.
        await services.StartAsync(cancellation);
        final ??= await FinishAsync(context, cancellation);
        var seconds = clock.Elapsed.TotalSeconds;

        var faults = context.Faults;
        if (faults.Count == 0) problems.Add("no fault happened: the sweep ended before mid-sweep (use more --images or a larger --step-ms)");
        if (context.FaultsNotDone > 0)
            problems.Add(Invariant($"the sweep ended before {context.FaultsNotDone} more fault(s) could be done (use more --images or a larger --step-ms)"));
        if (faults.Any(f => double.IsNaN(f.RecoveredSeconds))) problems.Add("the farm never recovered from a fault");
        if (final is null) problems.Add(Invariant($"the sweep did not end within {settings.SweepLimit.TotalSeconds:F0} s"));
        else if (final.State != "completed" || final.Images.Completed != settings.Images || final.Images.Failed != 0)
            problems.Add(Invariant($"the sweep is {final.State} with {final.Images.Completed} completed and {final.Images.Failed} failed of {settings.Images}{(final.Reason is null ? "" : $" ({final.Reason})")}"));
        var bucket = await BucketCheck.ReadAsync(resources, accepted.Id, settings.Images, cancellation);
        if (!bucket.Exact)
            problems.Add($"the bucket holds {bucket.Lost} images short, {bucket.Duplicated} keys too many under images/"
                         + (bucket.Unexpected.Count == 0 ? "" : $", and {string.Join(", ", bucket.Unexpected.Take(5))}"));
        problems.AddRange(await WedgedWorkersAsync(cancellation));

        var recovered = faults.Where(f => !double.IsNaN(f.RecoveredSeconds)).Select(f => f.RecoveredSeconds).DefaultIfEmpty(double.NaN).Max();
        var verdict = problems.Count == 0 ? "PASS" : "FAIL";
        Console.WriteLine(Invariant($"  {scenario.Name}: {verdict}: {settings.Images} images, lost {bucket.Lost}, duplicated {bucket.Duplicated}, ")
                          + Invariant($"{faults.Count} fault(s), recovered in {recovered:F1} s at most, sweep {final?.State ?? "unfinished"} in {seconds:F1} s, {settings.Workers} workers heartbeating and idle")
                          + (problems.Count == 0 ? "" : "\n" + string.Join("\n", problems.Select(p => "    problem: " + p))));
        if (problems.Count > 0) Console.WriteLine("    the coordinator's last output:\n" + Indent(processes.Coordinator.LastOutput));
        return (scenario, problems.Count == 0, bucket, faults);
    }

    private async Task<SweepStatus?> FinishAsync(ChaosContext context, CancellationToken cancellation)
    {
        var limit = Stopwatch.StartNew();
        var shown = Stopwatch.StartNew();
        while (limit.Elapsed < settings.SweepLimit)
        {
            var status = await context.StatusAsync(cancellation);
            if (status is not null && ChaosContext.Finished(status)) return status;
            if (shown.Elapsed > TimeSpan.FromSeconds(10))
            {
                context.Log(status is null ? "the coordinator does not answer" : Invariant($"{status.Images.Completed} of {status.Images.Total} images, {status.Images.Running} running"));
                shown.Restart();
            }
            await Task.Delay(200, cancellation);
        }
        return null;
    }

    /// <summary>Each worker process alive, heartbeating, and not busy (its sweep has ended); a few seconds' grace for the last heartbeat.</summary>
    private async Task<List<string>> WedgedWorkersAsync(CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = processes.CoordinatorUrl, Timeout = TimeSpan.FromSeconds(10) };
        var problems = new List<string>();
        var limit = Stopwatch.StartNew();
        do
        {
            problems.Clear();
            var heartbeats = (await processes.HeartbeatsAsync(http, cancellation)).ToDictionary(h => h.WorkerId);
            for (var number = 1; number <= settings.Workers; number++)
            {
                var id = FarmProcesses.WorkerId(resources.Model, number);
                if (processes.Workers[number - 1].HasExited) problems.Add($"worker {number} exited:\n{processes.Workers[number - 1].LastOutput}");
                else if (!heartbeats.TryGetValue(id, out var beat) || DateTimeOffset.UtcNow - beat.At > HeartbeatAge) problems.Add($"worker {number} is not heartbeating");
                else if (beat.CurrentJob is { } job) problems.Add(Invariant($"worker {number} is still on job {job} {IdleGrace.TotalSeconds:F0} s after its sweep ended"));
            }
            if (problems.Count == 0) return problems;
            await Task.Delay(500, cancellation);
        } while (limit.Elapsed < IdleGrace);
        return problems;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Indent(string text) => string.Join('\n', text.Split('\n').Select(line => "      " + line));
}
