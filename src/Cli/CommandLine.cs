using System.CommandLine;
using System.CommandLine.Help;
using Farm.Cli.Commands;
using Farm.Cli.Parsing;

namespace Farm.Cli;

/// <summary>
/// The `farm` command, parsed by System.CommandLine: every command has a description, typed options with their
/// defaults, and <c>--help</c>. <c>farm help COMMAND</c> is <c>farm COMMAND --help</c>. A usage error is one line
/// (<c>farm render: …</c>) and exit code 2; an unknown command or option names the closest one.
/// </summary>
internal static class CommandLine
{
    /// <summary>Commands the ./farm script runs itself; named here so a typo can point at them too.</summary>
    public static readonly string[] ScriptCommands = ["test", "setup", "services"];

    /// <param name="helpWidth">Where help wraps; by default the terminal's width (tests fix it, so help reads the same everywhere).</param>
    public static Command Build(int? helpWidth = null)
    {
        var root = new Command("farm", "Farm: a distributed Stable Diffusion render farm. `./farm help COMMAND` describes one command.");
        var help = new HelpOption { Recursive = true };
        if (helpWidth is { } width && help.Action is HelpAction action) action.MaxWidth = width;
        root.Add(help);
        root.Add(DemoCommand.Create());
        root.Add(RenderCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(ChaosCommand.Create());
        root.Add(ModelCommand.Create());
        root.Add(CoordinatorCommand.Create());
        root.Add(WorkerCommand.Create());
        root.Add(SubmitCommand.Create());
        root.Add(StatusCommand.Create());
        root.Add(FetchCommand.Create());
        foreach (var command in SweepControlCommands.Create()) root.Add(command);
        root.Add(KeysCommand.Create());
        root.Add(SweepsCommand.Create());
        root.Add(CompletionCommand.Create());
        root.Add(CompletionCommand.CreateHidden(root));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, int? helpWidth = null)
    {
        var root = Build(helpWidth);
        if (args.Length == 0)
        {
            await root.Parse(["--help"]).InvokeAsync();
            return 2; // a bare `farm` is a usage mistake, as before
        }
        if (args is ["help", .. var rest]) args = [.. rest, "--help"];
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine(UsageErrors.OneLine(parse, ScriptCommands));
            return 2;
        }
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler cancel = (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        Console.CancelKeyPress += cancel;
        // Ctrl+C only cancels the token (as before); the coordinator and worker shut down on their own terms.
        var invocation = new InvocationConfiguration
        {
            Output = Console.Out,
            Error = Console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await parse.InvokeAsync(invocation, cancellation.Token);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"{UsageErrors.CommandPath(parse)}: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"{UsageErrors.CommandPath(parse)}: cancelled");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= cancel;
        }
    }
}

/// <summary>A mistake in how a command was called, or in a file or value the user gave: one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
