using Farm.Cli.Commands;

namespace Farm.Cli;

/// <summary>The `farm` command: one entry per subcommand; usage errors print one line and exit with code 2.</summary>
internal static class CommandLine
{
    private static readonly (string Name, string Summary, Func<CliArgs, CancellationToken, Task<int>> Run)[] Commands =
    [
        ("demo", "render a demo sweep on the embedded default (in-process bus, folder bucket, tiny model)", DemoCommand.RunAsync),
        ("render", "render images locally: --model DIR --prompt TEXT --out FILE.png [options]", RenderCommand.RunAsync),
        ("tokenize", "show the token ids of a prompt: --model DIR TEXT", TokenizeCommand.RunAsync),
        ("bench", "time the engine on full-size SD1.5 shapes: unet|vae|text|txt2img [options]", BenchCommand.RunAsync),
        ("model", "model tools: init-tiny DIR, inspect PATH [--config DIR]", ModelCommand.RunAsync),
        ("coordinator", "run the coordinator (HTTP API, sweep expansion, status)", CoordinatorCommand.RunAsync),
        ("worker", "run a render worker: [--models DIR] [--device cpu|cuda]", WorkerCommand.RunAsync),
        ("submit", "submit a sweep spec: FILE [--watch]", SubmitCommand.RunAsync),
        ("status", "show a sweep's status: ID", StatusCommand.RunAsync),
        ("fetch", "download a sweep's images: ID --out DIR", FetchCommand.RunAsync),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "-h" or "--help")
        {
            PrintUsage();
            return args.Length == 0 ? 2 : 0;
        }
        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command.Run is null)
        {
            Console.Error.WriteLine($"farm: unknown command '{args[0]}'; run `./farm help` for the list");
            return 2;
        }
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        try
        {
            return await command.Run(new CliArgs(args[1..]), cancellation.Token);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"farm {command.Name}: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"farm {command.Name}: cancelled");
            return 130;
        }
    }

    private static void PrintUsage()
    {
        Console.WriteLine("usage: ./farm <command> [options]\n");
        foreach (var (name, summary, _) in Commands) Console.WriteLine($"  {name,-12} {summary}");
        Console.WriteLine("\n  (./farm test and ./farm services start|stop|status are handled by the ./farm script)");
    }
}

/// <summary>A mistake in how a command was called, or in a file or value the user gave: one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
