using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Coordinator.Api;
using Farm.Shared.Sweeps;

namespace Farm.Cli.Commands;

/// <summary>`farm pause|resume|retry ID` and `farm priority ID N`: what the coordinator publishes next of a sweep.</summary>
internal static class SweepControlCommands
{
    public static IEnumerable<Command> Create() =>
    [
        Simple("pause", "publish nothing more of a sweep; its running jobs finish", "/pause"),
        Simple("resume", "publish a paused sweep's jobs again", "/resume"),
        Retry(),
        Priority(),
    ];

    private static Command Simple(string name, string description, string path) =>
        Build(name, description, [], (client, id, _, cancellation) => Describe(client.ChangeSweepAsync<SweepStatus>(id, HttpMethod.Post, path, null, cancellation)));

    private static Command Retry() =>
        Build("retry", "queue a sweep's failed images again (only those), reopening a sweep that ended failed", [], async (client, id, _, cancellation) =>
        {
            var retried = await client.ChangeSweepAsync<SweepRetried>(id, HttpMethod.Post, "/retry", null, cancellation);
            Console.WriteLine($"sweep {id}: {retried.Images} failed images queued again; now {retried.Sweep.State}");
        });

    private static Command Priority()
    {
        var value = new Argument<int>("priority") { Description = $"{SweepPriority.Min}–{SweepPriority.Max}, higher runs first within the tenant (default {SweepPriority.Default})" };
        value.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is var p && !SweepPriority.IsValid(p)) r.AddError($"priority must be between {SweepPriority.Min} and {SweepPriority.Max} (got {p})");
        });
        return Build("priority", "change a sweep's priority while it runs", [value], (client, id, parse, cancellation) =>
            Describe(client.ChangeSweepAsync<SweepStatus>(id, HttpMethod.Patch, "", new SweepChange(parse.GetValue(value)), cancellation)));
    }

    private static Command Build(string name, string description, Argument[] extra,
        Func<FarmClient, string, ParseResult, CancellationToken, Task> run)
    {
        var id = new Argument<string>("id") { Description = "the sweep id" };
        var coordinator = FarmOptions.Coordinator();
        var apiKey = FarmOptions.ApiKey();
        var command = new Command(name, description) { id };
        foreach (var argument in extra) command.Add(argument);
        command.Add(coordinator);
        command.Add(apiKey);
        command.SetAction(async (parse, cancellation) =>
        {
            using var client = FarmClient.From(parse.GetValue(coordinator), parse.GetValue(apiKey));
            await run(client, parse.GetValue(id)!, parse, cancellation);
            return 0;
        });
        return command;
    }

    private static async Task Describe(Task<SweepStatus> change)
    {
        var s = await change;
        Console.WriteLine($"sweep {s.Id}: {s.State}, priority {s.Priority}, {s.Images.Completed}/{s.Images.Total} images");
    }
}
