using Farm.Infrastructure.Health;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Farm.Infrastructure;

public static class ServiceStores
{
    /// <summary>
    /// Redis progress store and S3 bucket from the settings. Redis connects without aborting on failure, so a worker
    /// starts (and renders, and uploads) while Redis is down.
    /// </summary>
    public static (RedisOptions Redis, S3Options S3) AddServiceStores(this IServiceCollection services, IConfiguration configuration)
    {
        var redis = new RedisOptions();
        configuration.GetSection(RedisOptions.Section).Bind(redis);
        var s3 = new S3Options();
        configuration.GetSection(S3Options.Section).Bind(s3);
        var redisConfig = ConfigurationOptions.Parse(redis.Configuration);
        redisConfig.AbortOnConnectFail = false;
        services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redisConfig));
        services.AddSingleton<IProgressStore>(sp => new RedisProgressStore(sp.GetRequiredService<IConnectionMultiplexer>(), redis.Prefix));
        services.AddSingleton<IObjectStore>(_ => s3.Folder is { Length: > 0 } folder ? new FolderObjectStore(folder) : new S3ObjectStore(s3));
        services.AddSingleton(s3);
        services.AddSingleton(redis);
        services.AddSingleton(new DependencyAddress("redis", WithoutPassword(redis.Configuration), "FARM_REDIS"));
        services.AddSingleton(s3.Folder is { Length: > 0 } dir
            ? new DependencyAddress("bucket", Path.GetFullPath(dir), "FARM_BUCKET_DIR")
            : new DependencyAddress("bucket", $"{s3.Url.TrimEnd('/')}/{s3.Bucket}", "FARM_S3_URL"));
        return (redis, s3);
    }

    private static string WithoutPassword(string configuration) =>
        string.Join(',', configuration.Split(',').Where(part => !part.Trim().StartsWith("password=", StringComparison.OrdinalIgnoreCase)));
}
