using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Coordinator;
using Farm.Coordinator.Sweeps;
using Farm.Coordinator.Tenancy;
using Farm.Infrastructure;
using Farm.Infrastructure.Progress;
using Farm.Infrastructure.Storage;
using Microsoft.Extensions.Configuration;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm sweeps rebuild ID [--tenant NAME]`: a sweep's live view written back into Redis from the bucket (manifest and image
/// records), straight with the FARM_* settings as `farm keys` does, for a sweep Redis lost or let expire.
/// </summary>
internal static class SweepsCommand
{
    public static Command Create() =>
        new("sweeps", "repair sweeps straight in Redis (FARM_REDIS) and the bucket (FARM_S3_*): rebuild") { Rebuild() };

    private static Command Rebuild()
    {
        var id = new Argument<string>("id") { Description = "the sweep's id (sw-…), as submit printed it; its manifest is sweeps/ID/manifest.json in the bucket" };
        var tenant = FarmOptions.Text("--tenant", "the tenant the sweep belongs to, for manifests that do not name it (default: the manifest's, else anonymous)", "NAME");
        var command = new Command("rebuild",
            "rebuild a sweep's status in Redis from the bucket: counts, completed images and the publishing cursor; the coordinator then publishes what is missing")
            { id, tenant };
        command.SetAction(async (parse, cancellation) =>
        {
            var sweepId = parse.GetValue(id)!;
            if (parse.GetValue(tenant) is { } name && TenantNames.Problem(name) is { } problem) throw new UsageException(problem);
            var configuration = new ConfigurationBuilder().AddFarmSettings().Build();
            var sweeps = FarmHosting.Bind<CoordinatorOptions>(configuration, CoordinatorOptions.Section);
            var redisOptions = FarmHosting.Bind<RedisOptions>(configuration, RedisOptions.Section);
            using var redis = await KeysCommand.ConnectAsync();
            using var bucket = new S3ObjectStore(FarmHosting.Bind<S3Options>(configuration, S3Options.Section));
            var rebuilder = new SweepRebuilder(new RedisProgressStore(redis, redisOptions.Prefix), bucket);
            SweepRebuilt? rebuilt;
            try
            {
                rebuilt = await rebuilder.RebuildAsync(sweepId, sweeps.FinishedTtl, parse.GetValue(tenant), cancellation);
            }
            catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or HttpRequestException)
            {
                throw new UsageException($"cannot read the bucket {bucket.Location} (FARM_S3_URL, FARM_S3_BUCKET): {e.Message}");
            }
            if (rebuilt is null) throw new UsageException($"no sweep '{sweepId}' in the bucket {bucket.Location}: there is no sweeps/{sweepId}/manifest.json");
            Console.WriteLine($"rebuilt {rebuilt.Id} (tenant {rebuilt.Tenant}): {rebuilt.Stored} of {rebuilt.Images} images stored"
                + (rebuilt.Stored == rebuilt.Images
                    ? "; the sweep is complete"
                    : $"; publishing resumes at job {rebuilt.ResumeAtJob} of {rebuilt.Jobs} in publish order (jobs from there whose images are stored complete without rendering)"));
            return 0;
        });
        return command;
    }
}
