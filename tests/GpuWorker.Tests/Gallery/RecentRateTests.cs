using Farm.GpuWorker.Rendering;
using Xunit;

namespace Farm.GpuWorker.Tests.Gallery;

public sealed class RecentRateTests
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void The_rate_counts_the_window_only_and_falls_to_zero_when_idle()
    {
        var clock = new Clock();
        var rate = new RecentRate(TimeSpan.FromMinutes(5), clock);
        Assert.Equal(0, rate.PerMinute());
        rate.Add(4);
        clock.Now += TimeSpan.FromMinutes(2);
        rate.Add(6);
        // 10 images since the first, 2 minutes and 1 second ago.
        Assert.Equal(Math.Round(10 / (2 + 1 / 60.0), 2), rate.PerMinute());
        clock.Now += TimeSpan.FromMinutes(4);
        // The first 4 left the 5-minute window: 6 over 5 minutes.
        Assert.Equal(1.2, rate.PerMinute());
        clock.Now += TimeSpan.FromMinutes(2);
        Assert.Equal(0, rate.PerMinute());
    }
}
