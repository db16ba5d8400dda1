namespace Farm.Infrastructure.Progress;

public sealed partial class InMemoryProgressStore
{
    private readonly Dictionary<string, double> speeds = new(StringComparer.Ordinal);

    public Task RecordRenderSpeedAsync(string model, double secondsPerMegapixelStep)
    {
        lock (gate) speeds[model] = RenderSpeed.Fold(speeds.TryGetValue(model, out var s) ? s : null, secondsPerMegapixelStep);
        return Task.CompletedTask;
    }

    public Task<double?> GetRenderSpeedAsync(string model)
    {
        lock (gate) return Task.FromResult<double?>(speeds.TryGetValue(model, out var s) ? s : null);
    }
}
