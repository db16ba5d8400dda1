namespace Farm.Infrastructure.Progress;

public sealed partial class InMemoryProgressStore
{
    private readonly HashSet<string> open = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<string>> ListOpenSweepIdsAsync(int limit)
    {
        lock (gate)
            return Task.FromResult<IReadOnlyList<string>>(open.Where(sweeps.ContainsKey).Select(id => sweeps[id])
                .OrderBy(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal).Take(limit).Select(s => s.Id).ToList());
    }

    public Task CloseSweepAsync(string id)
    {
        lock (gate) open.Remove(id);
        return Task.CompletedTask;
    }
}
