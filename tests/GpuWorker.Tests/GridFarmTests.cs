using System.Net;
using System.Net.Http.Json;
using System.Text;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Shared.Layout;
using Farm.Testing;
using SkiaSharp;
using Xunit;

namespace Farm.GpuWorker.Tests;

/// <summary>X/Y/Z grids end to end: a coordinator and an in-process worker over real RabbitMQ, Redis and s3rver.</summary>
public sealed class GridFarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private const int Size = 64, RowBand = Size * 3 / 4;

    private readonly string model = TestServices.UniqueName("tiny");
    private InProcessWorkers workers = null!;
    private CoordinatorUnderTest coordinator = null!;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("grids",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 1, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await workers.DisposeAsync();
        }
        finally
        {
            await coordinator.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_prompt_by_guidance_sweep_ends_with_one_listed_grid_per_seed_whose_cells_are_its_images()
    {
        await workers.StartAsync("w1");
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        // Seeds are the Z axis here, so each of the two grids has its own pixels (the test renderer draws from the seed).
        var accepted = await coordinator.SubmitAsync($$"""
            {"model":"{{model}}","prompts":["a fox","a lighthouse on a cliff"],"guidanceScale":[5,7.5,10],"seeds":[1,2],"steps":2,
             "width":{{Size}},"height":{{Size}},"grid":{"x":"guidanceScale","y":"prompts"} }
            """);
        Assert.Equal("completed", (await coordinator.WaitForStateAsync(accepted.Id, Deadline, "completed", "failed")).State);

        GridList grids = null!;
        await CoordinatorUnderTest.WaitUntilAsync(async () =>
        {
            grids = (await coordinator.Http.GetFromJsonAsync<GridList>($"/v1/sweeps/{accepted.Id}/grids", FarmJson.Options))!;
            return grids.Items.Count == 2;
        }, Deadline, "two grids listed");
        Assert.Equal([(0L, 0, StorageKeys.Grid(accepted.Id, 0, 0)), (1L, 0, StorageKeys.Grid(accepted.Id, 1, 0))], grids.Items.Select(g => (g.Z, g.Page, g.Key)));

        for (var z = 0; z < 2; z++)
        {
            using var grid = SKBitmap.Decode(await coordinator.Http.GetByteArrayAsync(grids.Items[z].Url));
            // Three guidance columns and two prompt rows of 64×64, a band of 3/4 of a cell for the prompts, a header above.
            Assert.Equal(RowBand + 3 * Size, grid.Width);
            var header = grid.Height - 2 * Size;
            Assert.InRange(header, 10, 2 * Size);
            for (var row = 0; row < 2; row++)
                for (var column = 0; column < 3; column++)
                {
                    // Image index: prompt, then guidance, then seed innermost (the README's order).
                    var index = (row * 3 + column) * 2 + z;
                    using var image = SKBitmap.Decode(await coordinator.Http.GetByteArrayAsync(
                        (await coordinator.Http.GetFromJsonAsync<ImagePage>($"/v1/sweeps/{accepted.Id}/images?offset={index}&limit=1", FarmJson.Options))!.Items[0].Url));
                    foreach (var (px, py) in new[] { (0, 0), (Size / 2, Size / 3), (Size - 1, Size - 1) })
                        Assert.Equal(image.GetPixel(px, py), grid.GetPixel(RowBand + column * Size + px, header + row * Size + py));
                }
        }
    }

    [Fact]
    public async Task A_grid_over_an_unknown_axis_is_a_400_naming_the_field()
    {
        using var response = await coordinator.Http.PostAsync("/v1/sweeps", new StringContent(
            $$"""{"model":"{{model}}","prompts":["a"],"seeds":[1],"grid":{"x":"cfg"} }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("grid.x", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_missing_sweep_has_no_grids_route_but_a_404()
    {
        using var response = await coordinator.Http.GetAsync("/v1/sweeps/no-such-sweep/grids");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
