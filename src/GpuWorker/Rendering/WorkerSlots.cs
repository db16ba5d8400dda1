using System.Collections.Concurrent;

namespace Farm.GpuWorker.Rendering;

/// <summary>One warm pipeline per model and its identity as announced in heartbeats.</summary>
public sealed class WorkerSlot(string id, IRendererFactory factory) : IDisposable
{
    private readonly Dictionary<string, IImageRenderer> warm = new(StringComparer.Ordinal);
    private long jobsDone;
    private readonly RecentRate recent = new(TimeSpan.FromMinutes(5));

    public string Id { get; } = id;
    public string? CurrentJob { get; internal set; }
    public long JobsDone => Interlocked.Read(ref jobsDone);
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    internal void CountJob(int images)
    {
        Interlocked.Increment(ref jobsDone);
        recent.Add(images);
    }

    /// <summary>Images finished per minute over the last few minutes (<see cref="RecentRate"/>).</summary>
    public double ImagesPerMinute() => recent.PerMinute();

    /// <summary>The model's pipeline, loaded on first use and kept.</summary>
    public IImageRenderer Renderer(string model)
    {
        lock (warm)
        {
            if (!warm.TryGetValue(model, out var renderer)) warm[model] = renderer = factory.Load(model);
            return renderer;
        }
    }

    public void Dispose()
    {
        lock (warm)
        {
            foreach (var renderer in warm.Values) renderer.Dispose();
            warm.Clear();
        }
    }
}

/// <summary>The worker's pipelines; a job borrows one for its render.</summary>
public sealed class WorkerSlots : IDisposable
{
    private readonly ConcurrentBag<WorkerSlot> free;
    private readonly SemaphoreSlim available;

    public WorkerSlots(IRendererFactory factory, string workerId, int count)
    {
        Factory = factory;
        All = Enumerable.Range(0, count).Select(i => new WorkerSlot(count == 1 ? workerId : $"{workerId}-{i + 1}", factory)).ToList();
        free = new ConcurrentBag<WorkerSlot>(All);
        available = new SemaphoreSlim(count, count);
    }

    public IRendererFactory Factory { get; }
    public IReadOnlyList<WorkerSlot> All { get; }
    public IReadOnlyList<string> Models => Factory.Models;

    public async Task<Lease> AcquireAsync(CancellationToken cancellation)
    {
        await available.WaitAsync(cancellation);
        free.TryTake(out var slot);
        return new Lease(this, slot!);
    }

    public void Dispose()
    {
        foreach (var slot in All) slot.Dispose();
    }

    public readonly struct Lease(WorkerSlots owner, WorkerSlot slot) : IDisposable
    {
        public WorkerSlot Slot => slot;

        public void Dispose()
        {
            slot.CurrentJob = null;
            owner.free.Add(slot);
            owner.available.Release();
        }
    }
}
