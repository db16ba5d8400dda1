using Farm.Infrastructure.Progress;
using Farm.Shared.Contracts;
using Farm.Testing;
using StackExchange.Redis;
using Xunit;

namespace Farm.Coordinator.Tests.Contracts;

/// <summary>What every progress store does, run against memory (the embedded default) and Redis.</summary>
public abstract class ProgressStoreContract
{
    protected abstract Task<IProgressStore> CreateAsync();

    [Fact]
    public async Task Completing_the_same_images_twice_counts_them_once_and_finishes_the_sweep_once()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s1", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        await store.JobStartedAsync("s1", 0, 2, "w1", DateTimeOffset.UtcNow);
        Assert.Equal(2, (await store.GetSweepAsync("s1"))!.Running);
        Assert.Equal(new CountResult(2, false), await store.CompleteImagesAsync("s1", 0, [0, 1], "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("s1", 0, [0, 1], "w2", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(1, false), await store.FailImagesAsync("s1", 1, [2], "bad", "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(1, true), await store.CompleteImagesAsync("s1", 1, [3], "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("s1", 1, [3], "w1", DateTimeOffset.UtcNow));
        var sweep = (await store.GetSweepAsync("s1"))!;
        Assert.Equal((3L, 1L, 0L, 0L), (sweep.Completed, sweep.Failed, sweep.Running, sweep.Queued));
        Assert.Equal("failed", sweep.State);
        Assert.NotNull(sweep.FinishedAt);
        Assert.Equal(["completed", "completed", "failed", "completed"], await store.GetImageStatesAsync("s1", [0, 1, 2, 3]));
        Assert.Equal("bad", await store.GetImageErrorAsync("s1", 2));
    }

    [Fact]
    public async Task Images_from_the_render_cache_count_as_completed_and_as_cached_once()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s1", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        Assert.Equal(new CountResult(2, false), await store.CompleteImagesAsync("s1", 0, [0, 1], "w1", DateTimeOffset.UtcNow, cached: true));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("s1", 0, [0, 1], "w1", DateTimeOffset.UtcNow, cached: true));
        Assert.Equal(new CountResult(2, true), await store.CompleteImagesAsync("s1", 1, [2, 3], "w1", DateTimeOffset.UtcNow));
        var sweep = (await store.GetSweepAsync("s1"))!;
        Assert.Equal((4L, 2L, 0L, "completed"), (sweep.Completed, sweep.Cached, sweep.Failed, sweep.State));
    }

    [Fact]
    public async Task A_job_of_a_sweep_the_store_does_not_hold_neither_starts_nor_counts()
    {
        var store = await CreateAsync();
        Assert.False(await store.JobStartedAsync("gone", 0, 2, "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("gone", 0, [0, 1], "w1", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.FailImagesAsync("gone", 0, [0, 1], "bad", "w1", DateTimeOffset.UtcNow));
        Assert.Null(await store.GetSweepAsync("gone"));
        Assert.Equal(["queued", "queued"], await store.GetImageStatesAsync("gone", [0, 1]));
    }

    [Fact]
    public async Task A_restored_sweep_replaces_what_was_there_and_counts_only_the_images_it_lacked()
    {
        var store = await CreateAsync();
        var created = DateTimeOffset.UtcNow.AddMinutes(-5);
        await store.CreateSweepAsync("s9", "tiny", 6, 3, 2, created);
        await store.CompleteImagesAsync("s9", 0, [0, 1], "w1", DateTimeOffset.UtcNow);
        await store.FailImagesAsync("s9", 2, [4], "boom", "w1", DateTimeOffset.UtcNow);
        await store.JobStartedAsync("s9", 1, 2, "w1", DateTimeOffset.UtcNow);

        await store.RestoreSweepAsync(new RestoredSweep("s9", "tiny", 6, 3, 2, created, "alice", 70, [0, 2, 3], 1, 2, null, null));
        var restored = (await store.GetSweepAsync("s9"))!;
        Assert.Equal((3L, 0L, 0L, "alice", 70, 1L, 2L, "running"),
            (restored.Completed, restored.Failed, restored.Running, restored.Tenant, restored.Priority, restored.PublishedJobs, restored.PublishedImages, restored.State));
        Assert.Equal(created.ToUnixTimeMilliseconds(), restored.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(["completed", "queued", "completed", "completed", "queued", "queued"], await store.GetImageStatesAsync("s9", [0, 1, 2, 3, 4, 5]));
        Assert.Null(await store.GetImageErrorAsync("s9", 4));
        Assert.Contains("s9", await store.ListTenantSweepIdsAsync("alice", 10));

        Assert.Equal(new CountResult(1, false), await store.CompleteImagesAsync("s9", 0, [0, 1], "w2", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(0, false), await store.CompleteImagesAsync("s9", 1, [2, 3], "w2", DateTimeOffset.UtcNow));
        Assert.Equal(new CountResult(2, true), await store.CompleteImagesAsync("s9", 2, [4, 5], "w2", DateTimeOffset.UtcNow));
        Assert.Equal("completed", (await store.GetSweepAsync("s9"))!.State);
    }

    [Fact]
    public async Task A_restored_million_image_sweep_knows_its_last_index()
    {
        var store = await CreateAsync();
        await store.RestoreSweepAsync(new RestoredSweep("s10", "tiny", 1_000_000, 250_000, 4, DateTimeOffset.UtcNow, SweepSnapshot.NoTenant, 50,
            [7, 8, 999_999], 0, 0, null, null));
        Assert.Equal(["queued", "completed", "completed", "queued", "completed"], await store.GetImageStatesAsync("s10", [6, 7, 8, 999_998, 999_999]));
        Assert.Equal(new CountResult(1, false), await store.CompleteImagesAsync("s10", 249_999, [999_998, 999_999], "w1", DateTimeOffset.UtcNow));
        Assert.Equal(4L, (await store.GetSweepAsync("s10"))!.Completed);
    }

    [Fact]
    public async Task Priority_pause_and_the_publishing_cursor_are_kept_per_sweep()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s5", "tiny", 6, 3, 2, DateTimeOffset.UtcNow);
        var fresh = (await store.GetSweepAsync("s5"))!;
        Assert.Equal((50, false, 0L, 0L), (fresh.Priority, fresh.Paused, fresh.PublishedJobs, fresh.InFlightImages));
        Assert.True(await store.SetPriorityAsync("s5", 80));
        Assert.True(await store.SetPausedAsync("s5", true));
        await store.SetPublishedAsync("s5", 2, 4);
        await store.CompleteImagesAsync("s5", 0, [0, 1], "w1", DateTimeOffset.UtcNow);
        var changed = (await store.GetSweepAsync("s5"))!;
        Assert.Equal((80, true, "paused", 2L, 2L), (changed.Priority, changed.Paused, changed.State, changed.PublishedJobs, changed.InFlightImages));
        Assert.True(await store.SetPausedAsync("s5", false));
        Assert.Equal("running", (await store.GetSweepAsync("s5"))!.State);
        Assert.False(await store.SetPriorityAsync("nope", 10));
        Assert.False(await store.SetPausedAsync("nope", true));
        Assert.Null(await store.GetSweepAsync("nope"));
    }

    [Fact]
    public async Task A_sweep_ended_failed_skips_its_jobs_and_a_requeue_of_its_failed_images_reopens_it()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s6", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        await store.FailImagesAsync("s6", 0, [0, 1], "boom", "w1", DateTimeOffset.UtcNow);
        await store.FailSweepAsync("s6", "too many failures", DateTimeOffset.UtcNow);
        var ended = (await store.GetSweepAsync("s6"))!;
        Assert.Equal(("failed", "too many failures", true), (ended.State, ended.FailedReason, ended.Stopped));
        Assert.NotNull(ended.FinishedAt);
        Assert.True(await store.IsCancelledAsync("s6"));
        Assert.False(await store.JobStartedAsync("s6", 1, 2, "w1", DateTimeOffset.UtcNow));

        Assert.Equal([0L, 1L], await store.RequeueFailedAsync("s6"));
        var reopened = (await store.GetSweepAsync("s6"))!;
        Assert.Equal(("queued", null, 0L, (DateTimeOffset?)null), (reopened.State, reopened.FailedReason, reopened.Failed, reopened.FinishedAt));
        Assert.Equal(["queued", "queued"], await store.GetImageStatesAsync("s6", [0, 1]));
        Assert.Equal(new CountResult(2, false), await store.CompleteImagesAsync("s6", 0, [0, 1], "w2", DateTimeOffset.UtcNow));
        Assert.Empty(await store.RequeueFailedAsync("s6"));
    }

    [Fact]
    public async Task A_worker_failing_distinct_jobs_is_blocklisted_and_barred_from_the_jobs_it_failed()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s7", "tiny", 8, 4, 2, DateTimeOffset.UtcNow);
        Assert.Equal(new JobFailure(1, false), await store.RecordJobFailureAsync("s7", 0, "w1", blocklistAfter: 2));
        Assert.Equal(new JobFailure(1, false), await store.RecordJobFailureAsync("s7", 0, "w1", blocklistAfter: 2)); // the same job again
        Assert.Equal(new JobFailure(2, false), await store.RecordJobFailureAsync("s7", 0, "w2", blocklistAfter: 2));
        Assert.True(await store.IsBarredAsync("s7", 0, "w1"));
        Assert.False(await store.IsBarredAsync("s7", 1, "w1"));
        Assert.Empty(await store.GetBlocklistAsync("s7"));
        Assert.Equal(new JobFailure(1, true), await store.RecordJobFailureAsync("s7", 1, "w1", blocklistAfter: 2));
        Assert.Equal(["w1"], await store.GetBlocklistAsync("s7"));
        Assert.True(await store.IsBarredAsync("s7", 3, "w1"));
        Assert.False(await store.IsBarredAsync("s7", 3, "w2"));
    }

    [Fact]
    public async Task Running_jobs_of_workers_no_longer_alive_are_forgotten()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s8", "tiny", 6, 3, 2, DateTimeOffset.UtcNow);
        await store.JobStartedAsync("s8", 0, 2, "alive", DateTimeOffset.UtcNow);
        await store.JobStartedAsync("s8", 1, 2, "dead", DateTimeOffset.UtcNow);
        await store.StepAsync("s8", 1, 2, 1, 4, "dead");
        Assert.Equal(1, await store.ForgetJobsOfDeadWorkersAsync("s8", new HashSet<string> { "alive" }));
        Assert.Equal([0L], await store.GetRunningJobsAsync("s8"));
        Assert.Equal(0, await store.ForgetJobsOfDeadWorkersAsync("s8", new HashSet<string> { "alive" }));
        Assert.Equal(2, (await store.GetSweepAsync("s8"))!.Running);
    }

    [Fact]
    public async Task Open_sweeps_are_listed_oldest_first_until_closed_and_a_retry_opens_one_again()
    {
        var store = await CreateAsync();
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);
        await store.CreateSweepAsync("o2", "tiny", 2, 1, 2, t0.AddMinutes(2));
        await store.CreateSweepAsync("o1", "tiny", 2, 1, 2, t0.AddMinutes(1));
        await store.CreateSweepAsync("o3", "tiny", 2, 1, 2, t0.AddMinutes(3));
        Assert.Equal(["o1", "o2", "o3"], await store.ListOpenSweepIdsAsync(10));
        Assert.Equal(["o1"], await store.ListOpenSweepIdsAsync(1));

        await store.FailImagesAsync("o1", 0, [0, 1], "boom", "w1", DateTimeOffset.UtcNow);
        await store.CloseSweepAsync("o1");
        Assert.Equal(["o2", "o3"], await store.ListOpenSweepIdsAsync(10));
        await store.RequeueFailedAsync("o1");
        Assert.Equal(["o1", "o2", "o3"], await store.ListOpenSweepIdsAsync(10));
    }

    [Fact]
    public async Task Steps_show_as_fractional_progress_of_the_running_images()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s2", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        Assert.Equal("queued", (await store.GetSweepAsync("s2"))!.State);
        await store.JobStartedAsync("s2", 1, 2, "w1", DateTimeOffset.UtcNow);
        await store.StepAsync("s2", 1, 2, 5, 10, "w1");
        var sweep = (await store.GetSweepAsync("s2"))!;
        Assert.Equal("running", sweep.State);
        Assert.Equal(0.25, sweep.Progress, 6);
        Assert.Equal([1L], await store.GetRunningJobsAsync("s2"));
        await store.JobStoppedAsync("s2", 1, "retrying");
        Assert.Equal(0, (await store.GetSweepAsync("s2"))!.Running);
    }

    [Fact]
    public async Task Cancelling_marks_the_sweep_and_tells_subscribers()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s3", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        var heard = new TaskCompletionSource<SweepProgressed>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (await store.SubscribeAsync("s3", p => heard.TrySetResult(p)))
        {
            Assert.False(await store.CancelAsync("nope", DateTimeOffset.UtcNow));
            Assert.True(await store.CancelAsync("s3", DateTimeOffset.UtcNow));
            Assert.Equal(ProgressKinds.SweepCancelled, (await heard.Task.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        }
        Assert.True(await store.IsCancelledAsync("s3"));
        Assert.Equal("cancelled", (await store.GetSweepAsync("s3"))!.State);
    }

    [Fact]
    public async Task A_job_of_a_cancelled_sweep_does_not_start()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("s4", "tiny", 4, 2, 2, DateTimeOffset.UtcNow);
        Assert.True(await store.JobStartedAsync("s4", 0, 2, "w1", DateTimeOffset.UtcNow));
        Assert.True(await store.CancelAsync("s4", DateTimeOffset.UtcNow));
        Assert.False(await store.JobStartedAsync("s4", 1, 2, "w2", DateTimeOffset.UtcNow));
        Assert.Equal([0L], await store.GetRunningJobsAsync("s4"));
    }

    [Fact]
    public async Task A_sweep_keeps_its_tenant_and_is_listed_under_it_only()
    {
        var store = await CreateAsync();
        await store.CreateSweepAsync("a-old", "tiny", 1, 1, 1, DateTimeOffset.UtcNow.AddMinutes(-1), "alice");
        await store.CreateSweepAsync("b-1", "tiny", 1, 1, 1, DateTimeOffset.UtcNow, "bob");
        await store.CreateSweepAsync("a-new", "tiny", 1, 1, 1, DateTimeOffset.UtcNow.AddSeconds(1), "alice");
        await store.CreateSweepAsync("none", "tiny", 1, 1, 1, DateTimeOffset.UtcNow);
        Assert.Equal("alice", (await store.GetSweepAsync("a-old"))!.Tenant);
        Assert.Equal("bob", (await store.GetSweepAsync("b-1"))!.Tenant);
        Assert.Equal(SweepSnapshot.NoTenant, (await store.GetSweepAsync("none"))!.Tenant);
        Assert.Equal(["a-new", "a-old"], await store.ListTenantSweepIdsAsync("alice", 10));
        Assert.Equal(["a-new"], await store.ListTenantSweepIdsAsync("alice", 1));
        Assert.Equal(["b-1"], await store.ListTenantSweepIdsAsync("bob", 10));
        Assert.Empty(await store.ListTenantSweepIdsAsync("carol", 10));
    }

    [Fact]
    public async Task Idempotency_keys_sweep_lists_and_heartbeats_round_trip()
    {
        var store = await CreateAsync();
        Assert.Null(await store.ClaimIdempotencyKeyAsync("k", "a 1"));
        Assert.Equal("a 1", await store.ClaimIdempotencyKeyAsync("k", "b 2"));
        await store.CreateSweepAsync("old", "tiny", 1, 1, 1, DateTimeOffset.UtcNow.AddMinutes(-1));
        await store.CreateSweepAsync("new", "tiny", 1, 1, 1, DateTimeOffset.UtcNow);
        Assert.Equal(["new", "old"], (await store.ListSweepIdsAsync(10)).Where(i => i is "new" or "old"));
        Assert.Null(await store.GetSweepAsync("missing"));
        var now = DateTimeOffset.UtcNow;
        await store.HeartbeatAsync(new WorkerHeartbeat("w-live", "h", "cpu", ["tiny"], 3, "s/1", now, now));
        await store.HeartbeatAsync(new WorkerHeartbeat("w-stale", "h", "cpu", ["tiny"], 0, null, now, now.AddMinutes(-5)));
        var workers = await store.ListWorkersAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["w-live"], workers.Select(w => w.WorkerId));
        Assert.Equal(["tiny"], workers[0].Models);
    }
}

public sealed class InMemoryProgressStoreTests : ProgressStoreContract
{
    protected override Task<IProgressStore> CreateAsync() => Task.FromResult<IProgressStore>(new InMemoryProgressStore());
}

public sealed class RedisProgressStoreTests : ProgressStoreContract
{
    protected override async Task<IProgressStore> CreateAsync() =>
        new RedisProgressStore(await TestServices.ConnectRedisAsync(), TestServices.UniqueRedisPrefix("progress"));
}
