using Microsoft.Extensions.Configuration;

namespace Farm.Infrastructure;

public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";
    public string Url { get; set; } = "amqp://guest:guest@127.0.0.1:5682/";
}

public sealed class RedisOptions
{
    public const string Section = "Redis";
    /// <summary>A StackExchange.Redis configuration string.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6389";
    public string Prefix { get; set; } = "farm:";
}

public sealed class S3Options
{
    public const string Section = "S3";
    public string Url { get; set; } = "http://127.0.0.1:5900";
    public string Bucket { get; set; } = "farm";
    public string AccessKey { get; set; } = "S3RVER";
    public string SecretKey { get; set; } = "S3RVER";
    public string Region { get; set; } = "us-east-1";
    public TimeSpan UrlExpiry { get; set; } = TimeSpan.FromHours(1);
    /// <summary>A local folder as the bucket instead of S3 (FARM_BUCKET_DIR): one machine only, e.g. a benchmark's.</summary>
    public string? Folder { get; set; }
}

/// <summary>The FARM_* environment variables (README, "Configuration") as configuration keys of the option sections.</summary>
public static class FarmSettings
{
    private static readonly (string Env, string Key)[] Map =
    [
        ("FARM_RABBITMQ_URL", "RabbitMq:Url"),
        ("FARM_REDIS", "Redis:Configuration"),
        ("FARM_REDIS_PREFIX", "Redis:Prefix"),
        ("FARM_S3_URL", "S3:Url"),
        ("FARM_S3_BUCKET", "S3:Bucket"),
        ("FARM_S3_ACCESS_KEY", "S3:AccessKey"),
        ("FARM_S3_SECRET_KEY", "S3:SecretKey"),
        ("FARM_BUCKET_DIR", "S3:Folder"),
        ("FARM_WORKER_DRAIN_SECONDS", "Worker:DrainSeconds"),
        ("FARM_AUTH", "Auth:Mode"),
        ("FARM_TENANT_MAX_QUEUED_IMAGES", "Tenants:MaxQueuedImages"),
        ("FARM_TENANT_REQUESTS_PER_SECOND", "Tenants:RequestsPerSecond"),
        ("FARM_FINISHED_SWEEP_TTL", "Sweeps:FinishedSweepTtl"),
        ("FARM_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "Webhooks:AllowPrivateTargets"),
    ];

    /// <summary>Adds the FARM_* values found in <paramref name="source"/> (the environment when null).</summary>
    public static IConfigurationBuilder AddFarmSettings(this IConfigurationBuilder builder, IReadOnlyDictionary<string, string>? source = null)
    {
        var values = new Dictionary<string, string?>();
        foreach (var (env, key) in Map)
        {
            var value = source is null ? Environment.GetEnvironmentVariable(env) : source.GetValueOrDefault(env);
            if (!string.IsNullOrEmpty(value)) values[key] = value;
        }
        return builder.AddInMemoryCollection(values);
    }
}
