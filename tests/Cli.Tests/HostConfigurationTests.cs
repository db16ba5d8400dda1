using Farm.Cli.Commands;
using Farm.GpuWorker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Farm.Cli.Tests;

/// <summary>
/// The farm's hosts read appsettings.json once and never watch it: each watch is an inotify instance, Linux allows
/// 128 per user by default, and a machine running 60 workers had its next worker die at start-up.
/// </summary>
public sealed class HostConfigurationTests
{
    [Fact]
    public async Task The_worker_and_coordinator_hosts_watch_no_configuration_file()
    {
        using (var worker = FarmHosting.BuildWorker(new WorkerOptions { Renderer = "simulated:0", ModelsServed = ["config-test"], WorkerId = "config-test" }, null))
            AssertReadOnce(worker.Services.GetRequiredService<IConfiguration>());
        await using var coordinator = FarmHosting.BuildCoordinator(["http://127.0.0.1:0"]);
        AssertReadOnce(coordinator.Configuration);
    }

    private static void AssertReadOnce(IConfiguration configuration)
    {
        var files = ((IConfigurationRoot)configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.NotEmpty(files);  // appsettings.json and its environment variant are still read
        Assert.All(files, file => Assert.False(file.Source.ReloadOnChange, $"{file.Source.Path} is watched for changes"));
    }
}
