namespace Farm.Cli.Tests;

/// <summary><c>--log-format</c> on the long-running commands: text or json, anything else a usage error naming both.</summary>
[Collection("console")]
public class LogFormatTests
{
    [Theory]
    [InlineData("coordinator")]
    [InlineData("worker")]
    public async Task An_unknown_log_format_is_a_usage_error_naming_the_formats(string command)
    {
        var (code, error) = await Cli.Run(command, "--log-format", "xml");
        Assert.Equal(2, code);
        Assert.Contains("xml", error);
        Assert.Contains("json", error);
    }
}
