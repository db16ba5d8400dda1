using System.Text.RegularExpressions;

namespace Farm.Cli.Tests;

/// <summary>The README's CLI section is the CLI's real help: each <c>&lt;!-- generated: ./farm help … --&gt;</c> block must match it.</summary>
[Collection("console")]
public partial class ReadmeTests
{
    [GeneratedRegex(@"<!-- generated: \./farm (?<args>[^>]*?) -->\s*```\n(?<text>.*?)```\s*<!-- end generated -->", RegexOptions.Singleline)]
    private static partial Regex GeneratedBlock();

    [SkippableFact]
    public async Task Every_generated_help_block_in_the_readme_matches_the_real_help()
    {
        var root = HelpTests.RepositoryRoot();
        Skip.If(root is null, "not run from a checkout");
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var blocks = GeneratedBlock().Matches(readme);
        Assert.Contains(blocks, b => b.Groups["args"].Value == "help");
        foreach (Match block in blocks)
        {
            var args = block.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var (code, error, output) = await Cli.RunCapturingOutput(args);
            Assert.True(code == 0, error);
            var expected = Normalize(output);
            Assert.True(expected == Normalize(block.Groups["text"].Value),
                $"README.md's block for `./farm {string.Join(' ', args)}` is out of date; replace it with:\n{expected}");
        }
    }

    private static string Normalize(string text) =>
        string.Join('\n', text.ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd())).Trim();
}
