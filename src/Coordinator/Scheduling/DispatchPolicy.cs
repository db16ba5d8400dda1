namespace Farm.Coordinator.Scheduling;

/// <summary>A sweep with a job ready to publish, as the policy sees it.</summary>
internal sealed record DispatchCandidate(string SweepId, string Tenant, int Priority, DateTimeOffset CreatedAt, string Model);

/// <summary>
/// Decides which sweep publishes next, in this order: weighted fair share between tenants (the tenant with the
/// fewest jobs in flight on the model, per unit of weight), then the sweep's priority (higher first), then age
/// (older first). The model's queue is kept short (<see cref="SweepPublisher"/>), so each decision takes effect
/// within about one job-time.
/// </summary>
internal sealed class DispatchPolicy(IReadOnlyDictionary<string, double> tenantWeights)
{
    public double WeightOf(string tenant) => tenantWeights.TryGetValue(tenant, out var w) && w > 0 ? w : 1;

    /// <param name="inFlight">Jobs of a tenant published and not finished on a model.</param>
    public DispatchCandidate? Next(IEnumerable<DispatchCandidate> candidates, Func<string, string, long> inFlight)
    {
        DispatchCandidate? best = null;
        var bestShare = double.MaxValue;
        foreach (var c in candidates)
        {
            var share = inFlight(c.Tenant, c.Model) / WeightOf(c.Tenant);
            if (best is null || Compare(c, share, best, bestShare) < 0) (best, bestShare) = (c, share);
        }
        return best;
    }

    private static int Compare(DispatchCandidate a, double aShare, DispatchCandidate b, double bShare)
    {
        var order = aShare.CompareTo(bShare);
        if (order == 0) order = b.Priority.CompareTo(a.Priority);
        if (order == 0) order = a.CreatedAt.CompareTo(b.CreatedAt);
        return order != 0 ? order : string.CompareOrdinal(a.SweepId, b.SweepId);
    }
}
