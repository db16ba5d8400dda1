namespace Farm.Infrastructure.Progress;

public sealed partial class RedisProgressStore
{
    public async Task<IReadOnlyList<string>> ListOpenSweepIdsAsync(int limit) =>
        (await Db.SortedSetRangeByRankAsync(keys.OpenSweeps, 0, limit - 1)).Select(v => (string)v!).ToList();

    public Task CloseSweepAsync(string id) => Db.SortedSetRemoveAsync(keys.OpenSweeps, id);
}
