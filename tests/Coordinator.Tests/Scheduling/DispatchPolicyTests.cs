using Farm.Coordinator.Scheduling;
using Xunit;

namespace Farm.Coordinator.Tests.Scheduling;

public sealed class DispatchPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static DispatchCandidate Sweep(string id, string tenant = "t", int priority = 50, int minutesOld = 0, string model = "m") =>
        new(id, tenant, priority, T0.AddMinutes(-minutesOld), model);

    private static Func<string, string, long> InFlight(params (string Tenant, long Jobs)[] jobs) =>
        (tenant, _) => jobs.Where(j => j.Tenant == tenant).Sum(j => j.Jobs);

    [Fact]
    public void Within_a_tenant_the_higher_priority_goes_first_then_the_older_sweep()
    {
        var policy = new DispatchPolicy(new Dictionary<string, double>());
        Assert.Equal("urgent", policy.Next([Sweep("old", minutesOld: 10), Sweep("urgent", priority: 90)], InFlight())!.SweepId);
        Assert.Equal("old", policy.Next([Sweep("new", minutesOld: 1), Sweep("old", minutesOld: 10)], InFlight())!.SweepId);
    }

    [Fact]
    public void The_tenant_with_fewer_jobs_in_flight_goes_first_whatever_the_priorities()
    {
        var policy = new DispatchPolicy(new Dictionary<string, double>());
        var next = policy.Next([Sweep("a-big", "a", priority: 100, minutesOld: 10), Sweep("b-small", "b", priority: 0)], InFlight(("a", 3), ("b", 2)));
        Assert.Equal("b-small", next!.SweepId);
    }

    [Fact]
    public void Weights_scale_a_tenants_share()
    {
        var policy = new DispatchPolicy(new Dictionary<string, double> { ["a"] = 3 });
        // a has 5 in flight at weight 3 (share 1.67), b has 2 at weight 1 (share 2): a goes next.
        Assert.Equal("a1", policy.Next([Sweep("a1", "a"), Sweep("b1", "b")], InFlight(("a", 5), ("b", 2)))!.SweepId);
        Assert.Equal(1, policy.WeightOf("unlisted"));
    }

    [Fact]
    public void Picking_repeatedly_shares_the_slots_between_tenants_by_weight()
    {
        var policy = new DispatchPolicy(new Dictionary<string, double> { ["a"] = 2 });
        var inFlight = new Dictionary<string, long> { ["a"] = 0, ["b"] = 0 };
        for (var i = 0; i < 30; i++)
        {
            var next = policy.Next([Sweep("a1", "a"), Sweep("b1", "b", minutesOld: 5)], (tenant, _) => inFlight[tenant])!;
            inFlight[next.Tenant]++;
        }
        Assert.Equal((20, 10), (inFlight["a"], inFlight["b"]));
    }

    [Fact]
    public void No_candidates_means_nothing_to_publish() =>
        Assert.Null(new DispatchPolicy(new Dictionary<string, double>()).Next([], InFlight()));
}
