namespace Farm.Cli.Tests;

/// <summary>Runs the CLI's command table in-process, capturing what it writes to standard error and standard output.</summary>
internal static class Cli
{
    public static async Task<(int Code, string Error)> Run(params string[] args)
    {
        var (code, error, _) = await RunCapturingOutput(args);
        return (code, error);
    }

    public static async Task<(int Code, string Error, string Output)> RunCapturingOutput(params string[] args)
    {
        var error = new StringWriter();
        var output = new StringWriter();
        var (originalError, originalOutput) = (Console.Error, Console.Out);
        Console.SetError(error);
        Console.SetOut(output);
        try
        {
            // Help unwrapped, as when the CLI's output is piped (how the README's help blocks are made).
            return (await CommandLine.RunAsync(args, helpWidth: int.MaxValue), error.ToString(), output.ToString());
        }
        finally
        {
            Console.SetError(originalError);
            Console.SetOut(originalOutput);
        }
    }
}
