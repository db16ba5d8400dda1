using System.Text;
using Amazon.S3.Model;
using Farm.Shared.Layout;
using Farm.Testing;
using StackExchange.Redis;

namespace Farm.Cli.Tests;

/// <summary>`farm sweeps rebuild` against the real Redis and s3rver: a bucket laid out by hand, as the ledger has it, read back into Redis.</summary>
[Collection("console")]
public sealed class SweepsCommandTests : IAsyncLifetime
{
    private static readonly string[] Variables = ["FARM_REDIS", "FARM_REDIS_PREFIX", "FARM_S3_URL", "FARM_S3_BUCKET", "FARM_S3_ACCESS_KEY", "FARM_S3_SECRET_KEY", "FARM_FINISHED_SWEEP_TTL"];

    private readonly string prefix = TestServices.UniqueRedisPrefix("cli-sweeps");
    private readonly Dictionary<string, string?> saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private string bucket = null!;

    public async Task InitializeAsync()
    {
        bucket = await TestServices.CreateBucketAsync("cli-sweeps");
        foreach (var (key, value) in TestServices.Settings(bucket)) Environment.SetEnvironmentVariable(key, value);
        Environment.SetEnvironmentVariable("FARM_REDIS_PREFIX", prefix);
        Environment.SetEnvironmentVariable("FARM_FINISHED_SWEEP_TTL", "01:00:00");
    }

    public Task DisposeAsync()
    {
        foreach (var (key, value) in saved) Environment.SetEnvironmentVariable(key, value);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Rebuild_writes_the_counts_the_completed_images_and_the_cursor_from_the_manifest_and_the_records()
    {
        // Two prompts × three seeds in jobs of two: jobs 0 (images 0, 1), 1 (2), 2 (3, 4), 3 (5). Records for 0, 1 and 4;
        // image 2 has its PNG but no record (the upload stopped before the record), so it is not complete.
        const string id = "sw-0123456789ab";
        using var s3 = TestServices.CreateS3Client();
        await Put(s3, StorageKeys.Manifest(id), """
            {"id":"sw-0123456789ab","batchSize":2,"createdAt":"2026-12-01T10:00:00+00:00","tenant":"alice",
             "spec":{"model":"tiny","prompts":["a fox","a lighthouse"],"seeds":[1,2,3],"steps":[4],"width":16,"height":16}}
            """);
        foreach (var index in new[] { 0, 1, 4 }) await Put(s3, StorageKeys.ImageRecord(id, index), "{}");
        foreach (var index in new[] { 0, 1, 2, 4 }) await Put(s3, StorageKeys.Image(id, index), "png");

        var (code, error, output) = await Cli.RunCapturingOutput("sweeps", "rebuild", id);
        Assert.True(code == 0, error);
        Assert.Equal($"rebuilt {id} (tenant alice): 3 of 6 images stored; publishing resumes at job 1 of 4 in publish order "
            + "(jobs from there whose images are stored complete without rendering)", output.Trim());

        using var redis = await TestServices.ConnectRedisAsync();
        var db = redis.GetDatabase();
        var keys = new ProgressKeys(prefix);
        var sweep = (await db.HashGetAllAsync(keys.Sweep(id))).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal(("6", "4", "2", "3", "0", "1", "2", "alice", "tiny", "3600"),
            (sweep["total"], sweep["jobs"], sweep["batchSize"], sweep["completed"], sweep["failed"], sweep["publishedJobs"], sweep["publishedImages"],
                sweep["tenant"], sweep["model"], sweep["ttl"]));
        Assert.StartsWith("2026-12-01T10:00:00", sweep["createdAt"]);
        Assert.False(sweep.ContainsKey("finishedAt"));
        var bits = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => db.StringGetBitAsync(keys.Done(id), i)));
        Assert.Equal([true, true, false, false, true, false], bits);
        Assert.Contains((RedisValue)id, await db.SortedSetRangeByRankAsync(keys.TenantSweeps("alice")));
    }

    [Fact]
    public async Task Rebuild_of_a_sweep_the_bucket_does_not_have_exits_2_naming_the_manifest()
    {
        var (code, error, _) = await Cli.RunCapturingOutput("sweeps", "rebuild", "sw-nope");
        Assert.Equal(2, code);
        Assert.Equal($"farm sweeps rebuild: no sweep 'sw-nope' in the bucket s3://{bucket}: there is no sweeps/sw-nope/manifest.json", error.Trim());
    }

    private Task Put(Amazon.S3.IAmazonS3 s3, string key, string body) =>
        s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(Encoding.UTF8.GetBytes(body)), UseChunkEncoding = false });
}
