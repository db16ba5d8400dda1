using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MassTransit;
using StackExchange.Redis;

namespace Farm.Testing;

/// <summary>
/// Real RabbitMQ, Redis and s3rver for service tests: one set per test run, never per test.
/// <code>
/// var queue  = TestServices.UniqueName("render");          // queue / endpoint name of your own
/// var prefix = TestServices.UniqueRedisPrefix("progress"); // "test:progress:1a2b3c4d5e6f:"
/// var bucket = await TestServices.CreateBucketAsync("results"); // a fresh, empty bucket
/// using var s3 = TestServices.CreateS3Client();            // path-style, checksums WHEN_REQUIRED
/// using var redis = await TestServices.ConnectRedisAsync();
/// var bus = Bus.Factory.CreateUsingRabbitMq(cfg => { TestServices.ConfigureRabbitMq(cfg); ... });
/// // or, with DI: x.UsingRabbitMq((ctx, cfg) => { TestServices.ConfigureRabbitMq(cfg); cfg.ConfigureEndpoints(ctx); });
/// var env = TestServices.Settings(bucket);                 // FARM_* settings for a host under test
/// </code>
/// Every test takes its own names from these helpers, so tests never see each other's
/// messages, keys or objects, whatever order or parallelism xunit picks.
/// <para>
/// Where the services come from: <c>./farm test</c> starts one throwaway set (free loopback
/// ports, temp dir) and exports <c>FARM_TEST_RABBITMQ_URL</c>, <c>FARM_TEST_REDIS</c>,
/// <c>FARM_TEST_S3_URL</c>, <c>FARM_TEST_S3_ACCESS_KEY</c>, <c>FARM_TEST_S3_SECRET_KEY</c>.
/// When those are absent (plain <c>dotnet test</c>), the first use starts a set with the
/// same script (<c>scripts/services.sh</c>) and stops it when the test process exits, or,
/// if that process is killed, when the script's watcher notices it is gone. That needs the
/// packages <c>./farm setup</c> installs; without them the first use throws saying so.
/// </para>
/// S3 writes: also set <c>UseChunkEncoding = false</c> on each <see cref="PutObjectRequest"/>
/// (s3rver stores aws-chunked bodies verbatim; see docs/design.md).
/// </summary>
public static class TestServices
{
    private static readonly Lazy<Endpoints> endpoints = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>AMQP URL with credentials, e.g. <c>amqp://guest:guest@127.0.0.1:21234/</c>.</summary>
    public static Uri RabbitMqUrl => endpoints.Value.RabbitMq;

    /// <summary>StackExchange.Redis configuration string, e.g. <c>127.0.0.1:23456</c>.</summary>
    public static string Redis => endpoints.Value.Redis;

    public static Uri S3Url => endpoints.Value.S3;
    public static string S3AccessKey => endpoints.Value.S3AccessKey;
    public static string S3SecretKey => endpoints.Value.S3SecretKey;

    /// <summary>
    /// A name no other test uses, valid as a queue, endpoint, exchange or bucket name:
    /// lowercase letters, digits and dashes, at most 63 characters.
    /// </summary>
    public static string UniqueName(string hint = "test")
    {
        var clean = new StringBuilder();
        foreach (var c in hint.ToLowerInvariant())
            clean.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-');
        var stem = clean.ToString().Trim('-');
        if (stem.Length > 40) stem = stem[..40].TrimEnd('-');
        if (stem.Length == 0) stem = "test";
        return $"{stem}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
    }

    /// <summary>A Redis key prefix no other test uses, e.g. <c>test:progress:1a2b3c4d5e6f:</c>.</summary>
    public static string UniqueRedisPrefix(string hint = "test") => $"test:{UniqueName(hint).Replace('-', ':')}:";

    /// <summary>Creates a fresh, empty bucket with a unique name and returns that name.</summary>
    public static async Task<string> CreateBucketAsync(string hint = "test", CancellationToken cancellationToken = default)
    {
        var name = UniqueName(hint.Length < 3 ? "test-" + hint : hint);
        using var s3 = CreateS3Client();
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = name }, cancellationToken);
        return name;
    }

    /// <summary>An S3 client for the test s3rver: path-style, checksums only when required.</summary>
    public static AmazonS3Client CreateS3Client()
    {
        var config = new AmazonS3Config
        {
            ServiceURL = S3Url.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        return new AmazonS3Client(new BasicAWSCredentials(S3AccessKey, S3SecretKey), config);
    }

    /// <summary>A new connection to the test Redis; dispose it at the end of the test.</summary>
    public static Task<ConnectionMultiplexer> ConnectRedisAsync() => ConnectionMultiplexer.ConnectAsync(Redis);

    /// <summary>Points a MassTransit RabbitMQ bus at the test broker (host, port, credentials).</summary>
    public static void ConfigureRabbitMq(IRabbitMqBusFactoryConfigurator cfg)
    {
        var url = RabbitMqUrl;
        var user = url.UserInfo.Split(':', 2);
        cfg.Host(url.Host, (ushort)url.Port, "/", h =>
        {
            h.Username(Uri.UnescapeDataString(user[0]));
            h.Password(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "");
        });
    }

    /// <summary>
    /// The FARM_* settings (the names <c>./farm coordinator</c> and <c>./farm worker</c> read)
    /// pointing at the test services, for a host under test, e.g. via AddInMemoryCollection.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Settings(string bucket) => new Dictionary<string, string>
    {
        ["FARM_RABBITMQ_URL"] = RabbitMqUrl.ToString(),
        ["FARM_REDIS"] = Redis,
        ["FARM_S3_URL"] = S3Url.ToString().TrimEnd('/'),
        ["FARM_S3_BUCKET"] = bucket,
        ["FARM_S3_ACCESS_KEY"] = S3AccessKey,
        ["FARM_S3_SECRET_KEY"] = S3SecretKey,
    };

    private sealed record Endpoints(Uri RabbitMq, string Redis, Uri S3, string S3AccessKey, string S3SecretKey);

    private static Endpoints Start()
    {
        var fromRun = Read(key => Environment.GetEnvironmentVariable("FARM_TEST_" + key));
        if (fromRun is not null) return fromRun;

        // No set from ./farm test: start our own for this process.
        var script = FindServicesScript();
        var dir = Directory.CreateTempSubdirectory("farm-test-services.").FullName;
        var (code, output) = RunScript(script, ["start", "--dir", dir, "--auto-ports", "--ephemeral",
            "--owner-pid", Environment.ProcessId.ToString(), "--quiet"], TimeSpan.FromMinutes(3));
        if (code != 0)
            throw new InvalidOperationException(
                $"could not start test services with {script} (exit {code}); run ./farm test, which installs them first:\n{output}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => RunScript(script, ["stop", "--dir", dir, "--quiet"], TimeSpan.FromMinutes(1));

        var values = File.ReadAllLines(Path.Combine(dir, "services.env"))
            .Select(line => line.Split('=', 2))
            .Where(kv => kv.Length == 2 && kv[0].StartsWith("FARM_", StringComparison.Ordinal))
            .ToDictionary(kv => kv[0]["FARM_".Length..], kv => kv[1]);
        return Read(key => values.GetValueOrDefault(key))
            ?? throw new InvalidOperationException($"{dir}/services.env lacks a setting");
    }

    private static Endpoints? Read(Func<string, string?> get)
    {
        string? rabbit = get("RABBITMQ_URL"), redis = get("REDIS"), s3 = get("S3_URL");
        if (string.IsNullOrEmpty(rabbit) || string.IsNullOrEmpty(redis) || string.IsNullOrEmpty(s3)) return null;
        return new Endpoints(new Uri(rabbit), redis, new Uri(s3),
            get("S3_ACCESS_KEY") ?? "S3RVER", get("S3_SECRET_KEY") ?? "S3RVER");
    }

    private static string FindServicesScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts", "services.sh");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException(
            "scripts/services.sh not found above " + AppContext.BaseDirectory + "; run the tests with ./farm test");
    }

    private static (int Code, string Output) RunScript(string script, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not run bash");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
