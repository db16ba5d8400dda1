using System.CommandLine;
using System.Diagnostics;

namespace Farm.Cli.Tests;

/// <summary>Help as a new user meets it: every command listed, every command's help naming all of its options.</summary>
[Collection("console")]
public class HelpTests
{
    private static readonly string[] CliCommands = ["demo", "render", "tokenize", "bench", "chaos", "model", "coordinator", "worker", "submit", "status", "fetch", "pause", "resume", "retry", "priority", "keys", "sweeps", "completion"];

    public static TheoryData<string[]> EveryCommand()
    {
        var data = new TheoryData<string[]>();
        foreach (var path in Paths(CommandLine.Build(), [])) data.Add(path);
        return data;
    }

    [Fact]
    public async Task Help_lists_every_command_and_exits_0()
    {
        var (code, error, output) = await Cli.RunCapturingOutput("help");
        Assert.True(code == 0, error);
        foreach (var name in CliCommands) Assert.Contains($"\n  {name} ", output);
        Assert.Equal(output, (await Cli.RunCapturingOutput("--help")).Output);
    }

    [Fact]
    public void The_command_table_is_the_list_the_tests_check()
    {
        Assert.Equal(CliCommands, CommandLine.Build().Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public async Task Each_commands_help_exits_0_and_names_each_of_its_options(string[] path)
    {
        var command = path.Aggregate(CommandLine.Build(), (parent, name) => parent.Subcommands.Single(c => c.Name == name));
        var (code, error, output) = await Cli.RunCapturingOutput([.. path, "--help"]);
        Assert.True(code == 0, error);
        Assert.Contains(command.Description!, output);
        foreach (var option in command.Options.Where(o => !o.Hidden)) Assert.Contains(option.Name, output);
        Assert.Equal(output, (await Cli.RunCapturingOutput(["help", .. path])).Output);
    }

    [Fact]
    public async Task Options_show_their_defaults()
    {
        var (_, _, output) = await Cli.RunCapturingOutput("render", "--help");
        Assert.Matches(@"--steps <N>\s+denoising steps \[default: 20\]", output);
        Assert.Matches(@"--scheduler <NAME>.*\[default: euler-a\]", output);
    }

    [Theory]
    [InlineData(new[] { "rendr" }, "farm: unknown command 'rendr' (did you mean 'render'?)")]
    [InlineData(new[] { "tset" }, "farm: unknown command 'tset' (did you mean 'test'?)")]
    [InlineData(new[] { "model", "inspekt", "x" }, "farm model: unknown command 'inspekt' (did you mean 'inspect'?)")]
    [InlineData(new[] { "render", "--stepz", "3" }, "farm render: unknown option --stepz (did you mean --steps?)")]
    [InlineData(new[] { "completion", "fish" }, "farm completion: Argument 'fish' not recognized")]
    public async Task A_mistyped_name_is_one_line_naming_the_closest_and_exit_code_2(string[] args, string message)
    {
        var (code, error) = await Cli.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith(message, error);
        Assert.Single(error.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _farm_complete farm")]
    [InlineData("zsh", "compdef _farm_complete farm")]
    public async Task Completion_prints_a_script_that_asks_the_cli_for_words(string shell, string registration)
    {
        var (code, error, output) = await Cli.RunCapturingOutput("completion", shell);
        Assert.True(code == 0, error);
        Assert.Contains(registration, output);
        Assert.Contains("__complete", output);
    }

    [Fact]
    public async Task The_completion_words_come_from_the_parser()
    {
        var (_, _, commands) = await Cli.RunCapturingOutput("__complete", "3", "ren");
        Assert.Equal(["render"], commands.Trim().Split('\n'));
        var (_, _, options) = await Cli.RunCapturingOutput("__complete", "11", "render --st");
        Assert.Equal(["--steps", "--strength"], options.Trim().Split('\n'));
    }

    [SkippableFact]
    public void The_farm_script_passes_help_through_and_adds_its_own_commands()
    {
        var root = RepositoryRoot();
        Skip.If(root is null, "not run from a checkout");
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "farm"), "help"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
        foreach (var name in CliCommands.Concat(CommandLine.ScriptCommands)) Assert.Contains($"\n  {name} ", output);
    }

    private static IEnumerable<string[]> Paths(Command command, string[] prefix)
    {
        foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
        {
            string[] path = [.. prefix, sub.Name];
            yield return path;
            foreach (var deeper in Paths(sub, path)) yield return deeper;
        }
    }

    internal static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "farm")) && File.Exists(Path.Combine(dir.FullName, "Farm.sln"))) return dir.FullName;
        return null;
    }
}
