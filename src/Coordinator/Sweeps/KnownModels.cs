using Farm.Infrastructure.Progress;

namespace Farm.Coordinator.Sweeps;

/// <summary>What the live workers serve: models, and the LoRAs and embeddings they have (null: some worker takes any name).</summary>
internal sealed record ServedCatalog(IReadOnlySet<string> Models, IReadOnlySet<string>? Loras, IReadOnlySet<string>? Embeddings);

/// <summary>The catalog of the workers that sent a heartbeat recently, cached for a moment.</summary>
internal sealed class KnownModels(IProgressStore store, CoordinatorOptions options)
{
    private (ServedCatalog Catalog, DateTime At) cached = (new ServedCatalog(new HashSet<string>(), null, null), DateTime.MinValue);

    public async Task<ServedCatalog> GetCatalogAsync()
    {
        var current = cached;
        if (DateTime.UtcNow - current.At < TimeSpan.FromSeconds(1)) return current.Catalog;
        var workers = await store.ListWorkersAsync(options.WorkerTimeout);
        var anyName = workers.Any(w => w.Adapters is null);
        var catalog = new ServedCatalog(
            workers.SelectMany(w => w.Models).ToHashSet(StringComparer.Ordinal),
            anyName ? null : workers.SelectMany(w => w.Adapters!.Loras).ToHashSet(StringComparer.Ordinal),
            anyName ? null : workers.SelectMany(w => w.Adapters!.Embeddings).ToHashSet(StringComparer.Ordinal));
        cached = (catalog, DateTime.UtcNow);
        return catalog;
    }
}
