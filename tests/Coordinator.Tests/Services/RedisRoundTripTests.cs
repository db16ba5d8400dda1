using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.Coordinator.Tests.Services;

public sealed class RedisRoundTripTests
{
    [Fact]
    public async Task A_value_written_to_redis_reads_back_unchanged()
    {
        var prefix = TestServices.UniqueRedisPrefix("roundtrip");
        using var redis = await TestServices.ConnectRedisAsync();
        var db = redis.GetDatabase();

        await db.StringSetAsync(prefix + "value", "step 7 of 20 ✓");
        await db.HashSetAsync(prefix + "job", [new HashEntry("step", 7), new HashEntry("state", "rendering")]);
        await db.HashIncrementAsync(prefix + "job", "step");

        Assert.Equal("step 7 of 20 ✓", (string?)await db.StringGetAsync(prefix + "value"));
        Assert.Equal(8, (long)await db.HashGetAsync(prefix + "job", "step"));
        Assert.Equal("rendering", (string?)await db.HashGetAsync(prefix + "job", "state"));
    }
}
