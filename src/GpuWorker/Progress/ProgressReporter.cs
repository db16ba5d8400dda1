using System.Collections.Concurrent;
using System.Threading.Channels;
using Farm.Infrastructure.Progress;
using Microsoft.Extensions.Logging;

namespace Farm.GpuWorker.Progress;

/// <summary>
/// Fire-and-forget progress writes: the render thread only enqueues (never waits on Redis); one background loop
/// writes, dropping the oldest writes when the store is slow or down, so rendering goes on without it.
/// </summary>
public sealed class ProgressReporter : IAsyncDisposable
{
    private readonly Channel<Func<IProgressStore, Task>> writes =
        Channel.CreateBounded<Func<IProgressStore, Task>>(new BoundedChannelOptions(512) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly IProgressStore store;
    private readonly ILogger logger;
    private readonly Task loop;
    private readonly ConcurrentDictionary<string, (bool Cancelled, DateTime CheckedAt)> cancelled = new(StringComparer.Ordinal);
    private DateTime lastWarning = DateTime.MinValue;

    public ProgressReporter(IProgressStore store, ILogger<ProgressReporter> logger)
    {
        this.store = store;
        this.logger = logger;
        loop = Task.Run(WriteLoopAsync);
    }

    public void Post(Func<IProgressStore, Task> write) => writes.Writer.TryWrite(write);

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until the writes posted so far are done. Call it before a job's end is
    /// recorded: a step write still queued would otherwise land after it and mark the finished job running again.
    /// </summary>
    public async Task FlushAsync(TimeSpan limit)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!writes.Writer.TryWrite(_ =>
            {
                done.TrySetResult();
                return Task.CompletedTask;
            })) return;
        try
        {
            await done.Task.WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            // The store is slow or down; the job's end is recorded anyway, and the live view catches up later.
        }
    }

    /// <summary>
    /// Whether the sweep was cancelled, as last seen; checked from the render thread at every step, so it
    /// answers from a cache and refreshes it in the background at most twice a second.
    /// </summary>
    public bool IsCancelled(string sweepId)
    {
        var now = DateTime.UtcNow;
        var seen = cancelled.GetOrAdd(sweepId, _ => (false, DateTime.MinValue));
        if (now - seen.CheckedAt > TimeSpan.FromMilliseconds(500))
        {
            cancelled[sweepId] = (seen.Cancelled, now);
            Post(async s => cancelled[sweepId] = (await s.IsCancelledAsync(sweepId), DateTime.UtcNow));
        }
        return seen.Cancelled;
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var write in writes.Reader.ReadAllAsync())
        {
            try
            {
                await write(store).WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e)
            {
                if (DateTime.UtcNow - lastWarning > TimeSpan.FromSeconds(30))
                {
                    lastWarning = DateTime.UtcNow;
                    logger.LogWarning("progress store unreachable, rendering goes on: {Error}", e.Message);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        writes.Writer.TryComplete();
        await loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
