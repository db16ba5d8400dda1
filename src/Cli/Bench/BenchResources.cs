using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Farm.Infrastructure;
using Farm.Infrastructure.Messaging;
using Farm.Infrastructure.Storage;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace Farm.Cli.Bench;

/// <summary>
/// What a bench run owns on the shared services, all named after its run id: a bucket (on S3, or a folder when
/// <paramref name="folderBucket"/>), a Redis prefix, and a model whose queues the workers declare.
/// <see cref="RemoveAsync"/> deletes all of them, so runs leave nothing behind.
/// </summary>
internal sealed class BenchResources(string runId, RabbitMqOptions rabbit, RedisOptions redis, S3Options s3, bool folderBucket, string stem = "bench") : IDisposable
{
    private IObjectStore? store;

    public string Model { get; } = $"{stem}-{runId}";
    public string Bucket { get; } = folderBucket ? Path.Combine(Path.GetTempPath(), $"farm-{stem}-{runId}") : $"{stem}-{runId}";
    public string RedisPrefix { get; } = $"{stem}:{runId}:";
    public string? Folder => folderBucket ? Bucket : null;
    /// <summary>What holds the bucket, for the report: s3rver (or whatever S3 the settings name) or a folder.</summary>
    public string BucketKind => folderBucket ? "the folder" : "s3rver";

    /// <summary>The bench's bucket settings: the service's address and keys, its own bucket or folder.</summary>
    public S3Options S3 { get; } = new() { Url = s3.Url, Bucket = $"{stem}-{runId}", AccessKey = s3.AccessKey, SecretKey = s3.SecretKey, Region = s3.Region, Folder = folderBucket ? Path.Combine(Path.GetTempPath(), $"farm-{stem}-{runId}") : null };

    /// <summary>The bucket as the workers see it.</summary>
    public IObjectStore Store => store ??= Folder is { } folder ? new FolderObjectStore(folder) : new S3ObjectStore(S3);

    public void Dispose() => (store as IDisposable)?.Dispose();

    public AmazonS3Client CreateS3Client() => new(new BasicAWSCredentials(s3.AccessKey, s3.SecretKey), new AmazonS3Config
    {
        ServiceURL = s3.Url,
        ForcePathStyle = true,
        AuthenticationRegion = s3.Region,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public async Task CreateBucketAsync(CancellationToken cancellation)
    {
        if (Folder is { } folder)
        {
            Directory.CreateDirectory(folder);
            return;
        }
        using var client = CreateS3Client();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = Bucket }, cancellation);
    }

    /// <summary>Keys under <paramref name="prefix"/> in the bench's bucket, with their sizes in bytes.</summary>
    public async Task<List<(string Key, long Size)>> ListAsync(string prefix, CancellationToken cancellation)
    {
        if (Folder is { } folder) return ListFolder(folder, prefix);
        using var client = CreateS3Client();
        var keys = new List<(string, long)>();
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, ContinuationToken = token }, cancellation);
            keys.AddRange((page.S3Objects ?? []).Select(o => (o.Key, o.Size ?? 0)));
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
        return keys;
    }

    /// <summary>
    /// Deletes the model's queues and, unless <paramref name="keepData"/>, the bucket with everything in it and the
    /// Redis keys under the prefix; each step on its own, so one failing leaves the others done.
    /// </summary>
    public async Task<List<string>> RemoveAsync(bool keepData, CancellationToken cancellation)
    {
        var problems = new List<string>();
        await Try("queues", RemoveQueuesAsync(cancellation), problems);
        if (keepData) return problems;
        await Try("bucket", RemoveBucketAsync(cancellation), problems);
        await Try("redis keys", RemoveRedisKeysAsync(), problems);
        return problems;
    }

    private static async Task Try(string what, Task step, List<string> problems)
    {
        try
        {
            await step;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            problems.Add($"{what}: {e.Message}");
        }
    }

    private static List<(string Key, long Size)> ListFolder(string folder, string prefix)
    {
        var under = Path.Combine(folder, prefix);
        if (!Directory.Exists(under)) return [];
        return Directory.EnumerateFiles(under, "*", SearchOption.AllDirectories)
            .Select(path => (Key: Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'), Size: new FileInfo(path).Length))
            .OrderBy(k => k.Key, StringComparer.Ordinal).ToList();
    }

    private async Task RemoveBucketAsync(CancellationToken cancellation)
    {
        if (Folder is { } folder)
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            return;
        }
        using var client = CreateS3Client();
        var keys = await ListAsync("", cancellation);
        foreach (var chunk in keys.Chunk(1000))
            await client.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = Bucket, Objects = chunk.Select(k => new KeyVersion { Key = k.Key }).ToList() }, cancellation);
        await client.DeleteBucketAsync(Bucket, cancellation);
    }

    private async Task RemoveRedisKeysAsync()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        foreach (var endpoint in connection.GetEndPoints())
        {
            var keys = new List<RedisKey>();
            await foreach (var key in connection.GetServer(endpoint).KeysAsync(pattern: RedisPrefix + "*", pageSize: 1000)) keys.Add(key);
            foreach (var chunk in keys.Chunk(1000)) await database.KeyDeleteAsync(chunk);
        }
    }

    private async Task RemoveQueuesAsync(CancellationToken cancellation)
    {
        await using var connection = await RabbitMqNodes.ConnectAsync(new ConnectionFactory(), rabbit.Url, cancellation);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellation);
        await channel.QueueDeleteAsync(RenderTopology.QueueName(Model), cancellationToken: cancellation);
        await channel.QueueDeleteAsync(RenderTopology.DeadLetterQueueName(Model), cancellationToken: cancellation);
        // MassTransit binds each receive endpoint through an exchange of the queue's name.
        await channel.ExchangeDeleteAsync(RenderTopology.QueueName(Model), cancellationToken: cancellation);
    }
}
