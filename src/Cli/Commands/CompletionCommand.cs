using System.CommandLine;
using Farm.Cli.Parsing;

namespace Farm.Cli.Commands;

/// <summary>`farm completion bash|zsh` prints a completion script; the hidden `farm __complete POSITION LINE` answers it.</summary>
internal static class CompletionCommand
{
    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "the shell to complete in" }.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "print a shell completion script: source <(./farm completion bash)") { shell };
        command.SetAction(parse =>
        {
            Console.WriteLine(Completion.Script(parse.GetValue(shell)!));
            return 0;
        });
        return command;
    }

    public static Command CreateHidden(Command root)
    {
        var position = new Argument<int>("position");
        var line = new Argument<string>("line") { DefaultValueFactory = _ => "" };
        var command = new Command(Completion.Hidden, "the words that complete a command line (used by the completion scripts)") { position, line };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            var text = parse.GetValue(line) ?? "";
            var at = Math.Clamp(parse.GetValue(position), 0, text.Length);
            foreach (var item in root.Parse(text).GetCompletions(at)) Console.WriteLine(item.Label);
            return 0;
        });
        return command;
    }
}
