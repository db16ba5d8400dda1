using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.GpuWorker.Models;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm model push PATH [--name NAME] [--config DIR]` and `farm model list`: models in the bucket, which workers
/// started with <c>--models-from-bucket</c> download on first use (FARM_S3_* settings; the list reads FARM_REDIS too).
/// </summary>
internal static class ModelBucketCommands
{
    public static Command Push()
    {
        var pathArgument = new Argument<string>("path") { Description = "a diffusers folder, or a checkpoint file (.safetensors/.ckpt)" };
        var nameOption = FarmOptions.Text("--name", "the model name workers serve it as (default: the folder or file name)", "NAME");
        var configOption = FarmOptions.Text("--config", "for a checkpoint: its diffusers config folder (tokenizer, GroupNorm groups), pushed as NAME.config", "DIR");
        var command = new Command("push", "put a model into the bucket, with a manifest of its files and their SHA-256") { pathArgument, nameOption, configOption };
        command.SetAction(async (parse, cancellation) =>
        {
            var path = parse.GetValue(pathArgument)!.TrimEnd('/');
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"{path} does not exist");
            var name = parse.GetValue(nameOption) ?? (Directory.Exists(path) ? Path.GetFileName(path) : Path.GetFileNameWithoutExtension(path));
            if (ModelManifest.NameProblem(name) is { } problem) throw new UsageException(problem);
            var config = parse.GetValue(configOption);
            if (config is not null && !Directory.Exists(config)) throw new UsageException($"--config {config} is not a folder");
            var bucket = Bucket(out var location);
            ModelManifest manifest;
            try
            {
                manifest = await ModelPusher.PushAsync(bucket, path, name, config, file => Console.Error.WriteLine($"  {file}"), cancellation);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or ArgumentException)
            {
                throw new UsageException($"{path} is not a model this farm can serve: {e.Message}");
            }
            catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or HttpRequestException)
            {
                throw new UsageException($"cannot write to the bucket {location}: {e.Message} (./farm services start, or set FARM_S3_URL)");
            }
            Console.WriteLine($"pushed model '{manifest.Name}' ({manifest.Family}, {manifest.Files.Count} files, {manifest.Bytes:N0} bytes) to {location}; "
                + "workers started with --models-from-bucket serve it");
            return 0;
        });
        return command;
    }

    public static Command List()
    {
        var command = new Command("list", "the models in the bucket, and which live workers serve each");
        command.SetAction(async (parse, cancellation) =>
        {
            var bucket = Bucket(out var location);
            IReadOnlyList<ModelManifest> models;
            try
            {
                models = await ModelCache.ListAsync(bucket, cancellation, problem => Console.Error.WriteLine($"farm model list: {problem}"));
            }
            catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or HttpRequestException)
            {
                throw new UsageException($"cannot read the bucket {location}: {e.Message} (./farm services start, or set FARM_S3_URL)");
            }
            var serving = await WorkersByModelAsync();
            if (models.Count == 0) Console.WriteLine($"no models in {location} (push one with ./farm model push PATH)");
            foreach (var m in models)
                Console.WriteLine($"{m.Name}\t{m.Family}\t{m.Bytes / 1e6:F1} MB\tpushed {m.PushedAt:u}\tworkers: "
                    + (serving.TryGetValue(m.Name, out var workers) ? string.Join(", ", workers) : "none"));
            return 0;
        });
        return command;
    }

    private static IConfiguration Settings() => new ConfigurationBuilder().AddFarmSettings().Build();

    private static S3ObjectStore Bucket(out string location)
    {
        var s3 = FarmHosting.Bind<S3Options>(Settings(), S3Options.Section);
        location = $"{s3.Url.TrimEnd('/')}/{s3.Bucket}";
        return new S3ObjectStore(s3);
    }

    // Heartbeats straight from Redis; without Redis the list still shows the bucket's models.
    private static async Task<Dictionary<string, List<string>>> WorkersByModelAsync()
    {
        var redis = FarmHosting.Bind<RedisOptions>(Settings(), RedisOptions.Section);
        var config = ConfigurationOptions.Parse(redis.Configuration);
        config.ConnectTimeout = 2000;
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(config);
            var workers = await new RedisProgressStore(connection, redis.Prefix).ListWorkersAsync(TimeSpan.FromSeconds(15));
            return workers.SelectMany(w => w.Models.Select(m => (Model: m, w.WorkerId)))
                .GroupBy(p => p.Model, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(p => p.WorkerId).ToList(), StringComparer.Ordinal);
        }
        catch (RedisConnectionException)
        {
            return [];
        }
    }
}
