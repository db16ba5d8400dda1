using System.Diagnostics;
using System.Text;
using Farm.Coordinator;
using Farm.Coordinator.Telemetry;
using Farm.GpuWorker.Telemetry;
using Farm.GpuWorker.Tests.Support;
using Farm.Infrastructure.Telemetry;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;
using Xunit;
using Xunit.Abstractions;

namespace Farm.GpuWorker.Tests.Telemetry;

/// <summary>One trace from <c>POST /v1/sweeps</c> to the upload of each job, through the real broker (OpenTelemetry's in-memory exporter).</summary>
public sealed class TracingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private readonly Spans spans = new();
    private CoordinatorUnderTest coordinator = null!;
    private IHost worker = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("trace", new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 2, MaxWidth = 256, MaxHeight = 256 },
            configure: s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        worker = await InProcessWorker.StartAsync(coordinator.Settings, new WorkerOptions { WorkerId = TestServices.UniqueName("trace-worker"), HeartbeatInterval = TimeSpan.FromMilliseconds(500) },
            new TestDoubleRendererFactory(model, () => TimeSpan.Zero),
            s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
    }

    public async Task DisposeAsync()
    {
        await worker.StopAsync(TimeSpan.FromSeconds(10));
        worker.Dispose();
        await coordinator.DisposeAsync();
    }

    [Fact]
    public async Task Each_job_of_a_sweep_is_traced_from_the_submit_through_publish_consume_render_and_upload_in_order()
    {
        // The client's own trace id, so this test finds its spans among those of tests running beside it.
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/sweeps")
        {
            Content = new StringContent($$"""{"model":"{{model}}","prompts":["a fox"],"seeds":[1,2,3],"steps":2,"width":16,"height":16}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        using var response = await coordinator.Http.SendAsync(request);
        var id = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<Farm.Coordinator.Api.SweepAccepted>(response.Content, Farm.Shared.Contracts.FarmJson.Options))!.Id;
        await coordinator.WaitForStateAsync(id, Deadline, "completed");
        // 3 seeds in batches of 2: jobs 0 and 1, each ending with its upload. A span is exported when it ends, so the
        // consume above an upload comes a moment after it: wait until both uploads lead up to a root.
        await CoordinatorUnderTest.WaitUntilAsync(() =>
        {
            var current = spans.Of(traceId);
            var uploads = current.Where(s => s.OperationName == "upload").ToList();
            return Task.FromResult(uploads.Count == 2 && uploads.All(u => Ancestors(current, u)[0].Kind == ActivityKind.Server));
        }, Deadline, () => $"both uploads traced back to the submit; have: {Describe(spans.Of(traceId))}");

        var trace = spans.Of(traceId);
        var submit = Assert.Single(trace, s => s.Kind == ActivityKind.Server);
        Assert.Equal(id, submit.GetTagItem("farm.sweep.id"));
        foreach (var job in new long[] { 0, 1 })
        {
            var upload = Assert.Single(trace, s => s.OperationName == "upload" && Equals(s.GetTagItem("farm.job.index"), job));
            var render = Assert.Single(trace, s => s.OperationName == "render" && Equals(s.GetTagItem("farm.job.index"), job));
            // Render and upload are siblings under the consume; everything above them leads back to the submit.
            Assert.Equal(render.ParentSpanId, upload.ParentSpanId);
            var chain = Ancestors(trace, upload);
            var described = Describe(chain);
            output.WriteLine($"job {job}: {described}");
            Assert.True(chain[0].SpanId == submit.SpanId, described);
            var publishing = chain.FindIndex(s => s.Source.Name == CoordinatorTracing.SourceName && s.OperationName == "publish jobs");
            var producer = chain.FindIndex(s => s.Source.Name == FarmTelemetry.MassTransit && s.Kind == ActivityKind.Producer);
            var consumer = chain.FindIndex(s => s.Source.Name == FarmTelemetry.MassTransit && s.Kind == ActivityKind.Consumer);
            Assert.True(0 < publishing && publishing < producer && producer < consumer && consumer < chain.Count - 1, described);
            Assert.Equal(WorkerTracing.SourceName, upload.Source.Name);
            // In time as in the tree: each span starts after its parent, and the upload after the render ended.
            for (var i = 1; i < chain.Count; i++) Assert.True(chain[i].StartTimeUtc >= chain[i - 1].StartTimeUtc, described);
            Assert.True(upload.StartTimeUtc >= render.StartTimeUtc + render.Duration, $"render {render.StartTimeUtc:O}+{render.Duration}, upload {upload.StartTimeUtc:O}");
        }
    }

    /// <summary>From the root of the trace down to <paramref name="span"/>.</summary>
    private static List<Activity> Ancestors(IReadOnlyList<Activity> trace, Activity span)
    {
        var chain = new List<Activity> { span };
        while (trace.FirstOrDefault(s => s.SpanId == chain[0].ParentSpanId) is { } parent) chain.Insert(0, parent);
        return chain;
    }

    private static string Describe(IEnumerable<Activity> spans) =>
        string.Join(" > ", spans.Select(s => $"{s.Source.Name}:{s.OperationName}({s.Kind})"));

    /// <summary>What the in-memory exporters of both hosts export; each sees every span of the process, so one copy per span.</summary>
    private sealed class Spans : ICollection<Activity>
    {
        private readonly List<Activity> items = [];

        public IReadOnlyList<Activity> Of(ActivityTraceId traceId)
        {
            lock (items) return items.Where(a => a.TraceId == traceId).DistinctBy(a => a.SpanId).ToList();
        }

        public void Add(Activity item)
        {
            lock (items) items.Add(item);
        }

        public int Count
        {
            get { lock (items) return items.Count; }
        }

        public bool IsReadOnly => false;
        public void Clear() { lock (items) items.Clear(); }
        public bool Contains(Activity item) { lock (items) return items.Contains(item); }
        public void CopyTo(Activity[] array, int arrayIndex) { lock (items) items.CopyTo(array, arrayIndex); }
        public bool Remove(Activity item) { lock (items) return items.Remove(item); }
        public IEnumerator<Activity> GetEnumerator() { lock (items) return items.ToList().GetEnumerator(); }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
