using System.Collections.Concurrent;
using System.Text;
using Farm.Coordinator;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Telemetry;
using Farm.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Farm.GpuWorker.Tests.Telemetry;

/// <summary>With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, a <c>farm worker</c> process sends its traces and metrics over OTLP.</summary>
public sealed class OtlpExportTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_worker_with_an_otlp_endpoint_exports_the_spans_and_metrics_of_the_jobs_it_renders()
    {
        // A stand-in collector: OTLP over HTTP is a protobuf POST per signal, whose strings travel as plain UTF-8.
        var received = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue((request.Path.Value!, request.ContentType ?? "", body.ToArray()));
            return TypedResults.Ok();
        });
        await collector.StartAsync();

        using var models = await TinyModels.CreateAsync(TestServices.UniqueName("tiny"));
        await using var coordinator = await CoordinatorUnderTest.StartAsync("otlp", new CoordinatorOptions());
        var settings = new Dictionary<string, string>(coordinator.Settings)
        {
            [FarmTelemetry.OtlpEndpointVariable] = collector.Urls.First(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        using var worker = WorkerProcess.StartCli("otlp-worker", settings, "worker", "--models", models.Dir, "--id", "otlp-worker", "--threads", "1");
        await coordinator.WaitForWorkersAsync(models.Name, 1, Deadline);
        var accepted = await coordinator.SubmitAsync($$"""{"model":"{{models.Name}}","prompts":["a fox"],"seeds":[7],"steps":2,"width":64,"height":64,"cache":false}""");
        await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed");

        bool Got(string path, params string[] texts) => received.Any(r => r.Path == path && r.ContentType == "application/x-protobuf"
                                                                          && texts.All(t => Contains(r.Body, t)));
        await CoordinatorUnderTest.WaitUntilAsync(
            // Spans are exported in batches, so the render and the upload spans may come in different requests.
            () => Task.FromResult(Got("/v1/traces", "render", accepted.Id) && Got("/v1/traces", "upload", accepted.Id)
                                  && Got("/v1/metrics", "farm.images.completed", models.Name)),
            Deadline, () => $"the job's spans and the image counter at the collector (got: {string.Join(", ", received.Select(r => $"{r.Path} {r.Body.Length} B"))}); worker:\n{worker.Output}");
        await worker.TerminateAsync(TimeSpan.FromSeconds(30));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
