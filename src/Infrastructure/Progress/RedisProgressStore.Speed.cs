using System.Globalization;
using StackExchange.Redis;

namespace Farm.Infrastructure.Progress;

public sealed partial class RedisProgressStore
{
    // KEYS: speeds. ARGV: model, sample, weight. The read and the fold in one step, so concurrent workers lose nothing.
    private const string FoldSpeedScript = """
        local old = redis.call('HGET', KEYS[1], ARGV[1])
        local new = tonumber(ARGV[2])
        if old then new = tonumber(old) + tonumber(ARGV[3]) * (new - tonumber(old)) end
        redis.call('HSET', KEYS[1], ARGV[1], tostring(new))
        return tostring(new)
        """;

    public Task RecordRenderSpeedAsync(string model, double secondsPerMegapixelStep) =>
        Db.ScriptEvaluateAsync(FoldSpeedScript, [keys.RenderSpeeds],
            [model, secondsPerMegapixelStep.ToString("R", CultureInfo.InvariantCulture), RenderSpeed.NewestWeight.ToString("R", CultureInfo.InvariantCulture)]);

    public async Task<double?> GetRenderSpeedAsync(string model) =>
        await Db.HashGetAsync(keys.RenderSpeeds, model) is { IsNull: false } value ? double.Parse((string)value!, CultureInfo.InvariantCulture) : null;
}
