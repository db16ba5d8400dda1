using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Farm.Infrastructure.Hosting;

/// <summary>
/// Runs a started host until its lifetime stops (SIGTERM, SIGINT, SIGQUIT through the host's console lifetime, or
/// <paramref name="cancellation"/>), then stops it with every wait bounded: the host gets <paramref name="stopBudget"/>
/// for its graceful stop, and the whole stop, disposal included, gives up after a few seconds more, so a broker,
/// Redis or bucket that is down cannot hold the process.
/// </summary>
public static class GracefulStop
{
    public static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    public static async Task<bool> RunUntilStoppedAsync(IHost host, TimeSpan stopBudget, CancellationToken cancellation)
    {
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using (cancellation.Register(lifetime.StopApplication))
        {
            try
            {
                await Task.Delay(Timeout.Infinite, lifetime.ApplicationStopping);
            }
            catch (OperationCanceledException)
            {
            }
        }
        Console.Error.WriteLine($"stopping (within {stopBudget.TotalSeconds:0.#} s)");
        using var budget = new CancellationTokenSource(stopBudget);
        var clean = await Bounded(host.StopAsync(budget.Token), stopBudget + Slack);
        clean &= await Bounded(Task.Run(() => host.Dispose()), Slack);
        Console.Error.WriteLine(clean ? "stopped" : "stopped (some services did not stop in time and were abandoned)");
        return clean;
    }

    private static async Task<bool> Bounded(Task task, TimeSpan limit)
    {
        try
        {
            await task.WaitAsync(limit);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (Exception e)
        {
            // Shutting down: a service that fails to stop is reported, not allowed to turn the stop into a crash.
            Console.Error.WriteLine($"stop: {e.GetType().Name}: {e.Message}");
            return false;
        }
    }
}
