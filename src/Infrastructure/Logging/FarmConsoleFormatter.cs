using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Farm.Infrastructure.Logging;

public sealed class FarmConsoleFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Stack traces at every level (<c>--verbose</c>); otherwise only errors carry them.</summary>
    public bool Verbose { get; set; }
}

/// <summary>
/// One line per entry, <c>warn: Category: message</c>. A warning's exception is shown as its type and message: a
/// service that is down is a state to report, not a crash, and its stack trace would bury the line that says what to do.
/// </summary>
public sealed class FarmConsoleFormatter(IOptionsMonitor<FarmConsoleFormatterOptions> options) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "farm";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        var exception = logEntry.Exception;
        if (string.IsNullOrEmpty(message) && exception is null) return;
        textWriter.Write(Label(logEntry.LogLevel));
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write(": ");
        textWriter.Write(message);
        if (exception is not null)
        {
            if (logEntry.LogLevel >= LogLevel.Error || options.CurrentValue.Verbose)
                textWriter.Write(Environment.NewLine + exception);
            else
                textWriter.Write($" ({exception.GetType().Name}: {FirstLine(exception.Message)})");
        }
        textWriter.Write(Environment.NewLine);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd('\r');

    private static string Label(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}

public static class FarmConsoleLogging
{
    /// <summary>
    /// The farm's console logging: one line per entry, framework chatter at Warning, and MassTransit's own connection
    /// retries hidden (the <see cref="Health.DependencyWatch"/> says what is down) unless <paramref name="verbose"/>.
    /// With <paramref name="json"/> (<c>--log-format json</c>), one JSON object per line instead, with the scopes
    /// (sweep, job and worker ids; trace and span ids) as fields, for a log collector.
    /// </summary>
    public static ILoggingBuilder AddFarmConsole(this ILoggingBuilder logging, bool verbose = false, bool json = false)
    {
        logging.ClearProviders();
        if (json)
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        else
            logging.AddConsole(o => o.FormatterName = FarmConsoleFormatter.FormatterName)
                .AddConsoleFormatter<FarmConsoleFormatter, FarmConsoleFormatterOptions>(o => o.Verbose = verbose);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("MassTransit", verbose ? LogLevel.Warning : LogLevel.Error);
        // Every failing probe, every few seconds; the watch's lines say the same once.
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", verbose ? LogLevel.Warning : LogLevel.None);
        // A start that fails is rethrown to the command, which says why; a start cut short by a stop is no failure.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", verbose ? LogLevel.Warning : LogLevel.None);
        if (verbose) logging.SetMinimumLevel(LogLevel.Debug);
        return logging;
    }
}
