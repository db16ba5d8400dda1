using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Farm.Coordinator.Tenancy;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Shared.Contracts;
using Farm.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Farm.Coordinator.Tests.Tenancy;

/// <summary>
/// A coordinator against the real Redis and s3rver (prefix and bucket of its own), its jobs going to an in-memory bus
/// (no worker is needed to see who may read what). Every log line it writes is kept in <see cref="Logs"/>.
/// </summary>
internal sealed class TenantCoordinator : IAsyncDisposable
{
    private readonly WebApplication app;

    private TenantCoordinator(WebApplication app, ConcurrentQueue<string> logs)
    {
        this.app = app;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.First().Replace("0.0.0.0", "127.0.0.1").TrimEnd('/') + "/");
    }

    public Uri BaseAddress { get; }
    public ConcurrentQueue<string> Logs { get; }
    public IProgressStore Store => app.Services.GetRequiredService<IProgressStore>();
    public IApiKeyStore Keys => app.Services.GetRequiredService<IApiKeyStore>();
    public Farm.Infrastructure.Storage.IObjectStore Bucket => app.Services.GetRequiredService<Farm.Infrastructure.Storage.IObjectStore>();

    /// <summary>Builds and starts one; <paramref name="prepare"/> runs against its key store before it starts (keys made before a start).</summary>
    public static async Task<TenantCoordinator> StartAsync(string hint, IReadOnlyDictionary<string, string?>? config = null, string urls = "http://127.0.0.1:0",
        Func<IApiKeyStore, Task>? prepare = null)
    {
        var logs = new ConcurrentQueue<string>();
        var app = Build(await TestServices.CreateBucketAsync(hint), TestServices.UniqueRedisPrefix(hint), config, urls, logs);
        if (prepare is not null) await prepare(app.Services.GetRequiredService<IApiKeyStore>());
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var coordinator = new TenantCoordinator(app, logs);
        var now = DateTimeOffset.UtcNow;
        await coordinator.Store.HeartbeatAsync(new WorkerHeartbeat("w1", "host", "cpu", ["tiny"], 0, null, now, now));
        return coordinator;
    }

    public HttpClient Client(string? key)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public async Task<string> CreateKeyAsync(string tenant, bool admin = false) => (await Keys.CreateAsync(tenant, admin, DateTimeOffset.UtcNow)).Secret;

    private static WebApplication Build(string bucket, string prefix, IReadOnlyDictionary<string, string?>? config, string urls, ConcurrentQueue<string> logs)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var settings = new Dictionary<string, string>(TestServices.Settings(bucket)) { ["FARM_REDIS_PREFIX"] = prefix };
        builder.Configuration.AddFarmSettings(settings);
        builder.Configuration.AddInMemoryCollection(config ?? new Dictionary<string, string?>());
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(new LogSink(logs));
        builder.WebHost.UseUrls(urls);
        var (_, s3) = builder.Services.AddServiceStores(builder.Configuration);
        builder.Services.AddFarmCoordinator(new CoordinatorOptions(), s3);
        builder.Services.AddMassTransit(x => x.UsingInMemory());
        var app = builder.Build();
        app.MapFarmCoordinator();
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(TimeSpan.FromSeconds(10));
        await app.DisposeAsync();
    }

    /// <summary>Every log line, at every level, with its exception, so a test can check what never appears in logs.</summary>
    private sealed class LogSink(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines, categoryName);
        public void Dispose() { }

        private sealed class Logger(ConcurrentQueue<string> lines, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
