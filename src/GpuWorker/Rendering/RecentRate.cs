namespace Farm.GpuWorker.Rendering;

/// <summary>
/// Events per minute over a sliding window (or the time since the first event, when shorter), so an idle worker falls
/// to 0 within the window instead of showing its lifetime average.
/// </summary>
public sealed class RecentRate(TimeSpan window, TimeProvider? clock = null)
{
    private readonly TimeProvider time = clock ?? TimeProvider.System;
    private readonly Queue<(DateTimeOffset At, int Count)> events = new();
    private DateTimeOffset? first;

    public void Add(int count)
    {
        lock (events)
        {
            var now = time.GetUtcNow();
            first ??= now;
            events.Enqueue((now, count));
            Trim(now);
        }
    }

    public double PerMinute()
    {
        lock (events)
        {
            var now = time.GetUtcNow();
            Trim(now);
            if (first is not { } start || events.Count == 0) return 0;
            // Measured from the window's start, or from the first event (plus a second, so one event is not infinite).
            var span = Math.Min(window.TotalMinutes, (now - start).TotalMinutes + 1.0 / 60);
            return Math.Round(events.Sum(e => e.Count) / span, 2);
        }
    }

    private void Trim(DateTimeOffset now)
    {
        while (events.Count > 0 && now - events.Peek().At > window) events.Dequeue();
    }
}
