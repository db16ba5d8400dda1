namespace Farm.Infrastructure.Hosting;

/// <summary>
/// Arguments for the farm's host builders. The default builders watch <c>appsettings.json</c> with an inotify
/// instance each, and Linux allows 128 per user by default: a machine running 60 workers (each a host and its health
/// server) had its next worker die at start-up. Settings are read once at start; a change takes a restart.
/// </summary>
public static class HostArgs
{
    public static readonly string[] NoConfigWatch = ["--hostBuilder:reloadConfigOnChange=false"];
}
