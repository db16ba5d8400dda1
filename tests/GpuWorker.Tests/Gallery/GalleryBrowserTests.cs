using System.Net.Http.Headers;
using System.Net.Http.Json;
using Farm.Coordinator;
using Farm.Coordinator.Api;
using Farm.Coordinator.Tenancy;
using Farm.GpuWorker.Tests.Support;
using Farm.Shared.Contracts;
using Farm.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Farm.GpuWorker.Tests.Gallery;

/// <summary>
/// The web gallery in a real browser (Debian's chromium through Playwright) against a real coordinator, RabbitMQ, Redis
/// and s3rver, with in-process workers whose steps are slowed down so a sweep is watched while it renders.
/// </summary>
public sealed class GalleryBrowserTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    private readonly string model = TestServices.UniqueName("tiny");
    private CoordinatorUnderTest coordinator = null!;
    private InProcessWorkers workers = null!;
    private Browser browser = null!;
    private volatile bool cursed = true;

    public async Task InitializeAsync()
    {
        coordinator = await CoordinatorUnderTest.StartAsync("gallery",
            new CoordinatorOptions { DefaultBatchSize = 2, QueuedPerPipeline = 1, MaxImages = 1000, MaxWidth = 256, MaxHeight = 256 });
        workers = new InProcessWorkers(coordinator.Settings, model) { StepDelay = TimeSpan.FromMilliseconds(250) };
        // Seed 666 fails as a bad job (not retried in place) while "cursed" holds.
        await workers.StartAsync("gallery-w1", seed => cursed && seed == 666 ? new ArgumentException("seed 666 is cursed") : null, o => o.Retries = 0);
        await coordinator.WaitForWorkersAsync(model, 1, Deadline);
        browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await browser.DisposeAsync();
            await workers.DisposeAsync();
        }
        finally
        {
            await coordinator.DisposeAsync();
        }
    }

    private Uri Url => coordinator.Http.BaseAddress!;

    // Index order (README): prompts outer, seeds inner, so image 4 is "a lighthouse" with seed 12.
    private string Spec(int seedCount = 3) => $$"""
        model: {{model}}
        prompts: ["a fox", "a lighthouse"]
        seeds: { start: 11, count: {{seedCount}} }
        steps: 4
        size: "64x64"
        """;

    private async Task<string> SubmitFromFormAsync(IPage page, string spec)
    {
        if (!page.Url.EndsWith("#/submit", StringComparison.Ordinal)) await page.GotoAsync("/#/submit");
        await page.Locator("#spec").FillAsync(spec);
        await page.Locator("#submit").ClickAsync();
        // A hash route: the URL changes without a page load.
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/sweeps/.+"), new() { Timeout = 30_000 });
        return Uri.UnescapeDataString(page.Url[(page.Url.IndexOf("#/sweeps/", StringComparison.Ordinal) + "#/sweeps/".Length)..]);
    }

    [Fact]
    public async Task A_sweep_submitted_from_the_form_fills_in_its_thumbnails_live_and_the_lightbox_shows_the_seed_and_infotext()
    {
        var page = await browser.OpenAsync(Url, "/#/submit");
        await page.Locator("#spec").FillAsync(Spec());
        await page.Locator("#dry-run").ClickAsync();
        await Expect(page.Locator("#estimate-images")).ToHaveTextAsync("6");
        await Browser.ScreenshotAsync(page, "gallery-submit");
        Assert.Empty((await coordinator.Http.GetFromJsonAsync<List<SweepStatus>>("/v1/sweeps", FarmJson.Options))!);

        var id = await SubmitFromFormAsync(page, Spec());
        await Expect(page.Locator(".tile")).ToHaveCountAsync(6);
        // The page was open before the images landed: they fill in without a reload.
        Assert.True(await page.Locator(".tile.completed").CountAsync() < 6, "every image was done before the page showed the sweep");
        await Expect(page.Locator(".tile.completed img")).ToHaveCountAsync(6, new() { Timeout = 60_000 });
        Assert.Equal("completed", (await coordinator.StatusAsync(id)).State);
        await Expect(page.Locator(".summary .badge")).ToHaveTextAsync("completed");
        await Expect(page.Locator(".grids figure")).ToHaveCountAsync(1, new() { Timeout = 30_000 });

        await page.Locator(".tile[data-index='4']").ClickAsync();
        await Expect(page.Locator("#lightbox [data-param='seed']")).ToHaveTextAsync("12");
        await Expect(page.Locator("#lightbox [data-param='prompt']")).ToHaveTextAsync("a lighthouse");
        var infotext = await page.Locator("#lightbox-infotext").TextContentAsync();
        Assert.StartsWith("a lighthouse\n", infotext);
        Assert.Contains("Seed: 12,", infotext);
        Assert.Contains("Size: 64x64", infotext);
        await Browser.ScreenshotAsync(page, "gallery-lightbox");
        await page.Keyboard.PressAsync("Escape");
        await Browser.ScreenshotAsync(page, "gallery-sweep");
    }

    [Fact]
    public async Task With_keys_the_gallery_asks_once_keeps_the_key_in_the_tab_and_its_pause_resume_and_cancel_buttons_act_on_the_sweep()
    {
        var keys = coordinator.Services.GetRequiredService<IApiKeyStore>();
        var alice = (await keys.CreateAsync("alice", false, DateTimeOffset.UtcNow)).Secret;
        var admin = (await keys.CreateAsync("ops", true, DateTimeOffset.UtcNow)).Secret;
        coordinator.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", admin);

        var page = await browser.OpenAsync(Url);
        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.Locator("#key-input").FillAsync("farm_not-a-key");
        await page.Locator("#key-use").ClickAsync();
        await Expect(page.Locator("#key-why")).ToHaveTextAsync("This key is unknown or revoked.");
        await page.Locator("#key-input").FillAsync(alice);
        await page.Locator("#key-use").ClickAsync();
        await Expect(page.Locator("#key-dialog")).ToBeHiddenAsync();
        Assert.Equal(alice, await page.EvaluateAsync<string>("() => sessionStorage.getItem('farmKey')"));
        await page.ReloadAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Sweeps");
        await Expect(page.Locator("#key-dialog")).ToBeHiddenAsync();
        // Alice is no admin: no tenant column.
        await Expect(page.Locator("table.sweeps th", new() { HasText = "Tenant" })).ToHaveCountAsync(0);

        var id = await SubmitFromFormAsync(page, Spec(seedCount: 10));
        Assert.Equal("alice", (await coordinator.StatusAsync(id)).Tenant);
        await Expect(page.Locator(".tile.completed").First).ToBeVisibleAsync();
        await page.Locator("button[data-action='pause']").ClickAsync();
        await coordinator.WaitForStateAsync(id, Deadline, "paused");
        await Expect(page.Locator(".summary .badge")).ToHaveTextAsync("paused");
        await Browser.ScreenshotAsync(page, "gallery-paused");

        await page.Locator("button[data-action='resume']").ClickAsync();
        await coordinator.WaitForStateAsync(id, Deadline, "running", "completed");
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.Locator("button[data-action='cancel']").ClickAsync();
        var cancelled = await coordinator.WaitForStateAsync(id, Deadline, "cancelled", "completed");
        Assert.Equal("cancelled", cancelled.State);
        await Expect(page.Locator(".summary .badge")).ToHaveTextAsync("cancelled");
        await Expect(page.Locator("button[data-action='cancel']")).ToBeDisabledAsync();
    }

    [Fact]
    public async Task A_failed_image_is_listed_with_its_error_and_retry_failed_renders_it_again()
    {
        // Batches of 2: seeds 1 and 2 are one job, 666 the other, so only image 2 fails.
        var sweep = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["p"],"seeds":[1,2,666],"steps":1,"width":16,"height":16}""");
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "failed");

        var page = await browser.OpenAsync(Url, $"/#/sweeps/{sweep.Id}", ColorScheme.Dark);
        await Expect(page.Locator(".tile[data-index='2']")).ToHaveAttributeAsync("data-state", "failed");
        await Expect(page.Locator("table.failed-images tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("table.failed-images td.error-text")).ToContainTextAsync("seed 666 is cursed");
        await Browser.ScreenshotAsync(page, "gallery-failed-dark");

        cursed = false;
        await page.Locator("button[data-action='retry']").ClickAsync();
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed");
        await Expect(page.Locator(".tile[data-index='2']")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = 30_000 });
        await Expect(page.Locator("table.failed-images")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_prompt_with_markup_is_shown_as_text_and_never_runs()
    {
        const string prompt = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script> a fox";
        var sweep = await coordinator.SubmitAsync(FarmJson.Serialize(new { model, prompts = new[] { prompt }, seeds = new[] { 1 }, steps = 1, width = 16, height = 16 }));
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed");

        var page = await browser.OpenAsync(Url, $"/#/sweeps/{sweep.Id}");
        await page.Locator(".tile[data-index='0']").ClickAsync();
        await Expect(page.Locator("#lightbox [data-param='prompt']")).ToHaveTextAsync(prompt);
        Assert.StartsWith(prompt, await page.Locator("#lightbox-infotext").TextContentAsync());
        Assert.Equal(0, await page.Locator("img[src='x'], #view script, #lightbox script").CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("() => window.pwned ?? null"));
    }

    [Fact]
    public async Task The_workers_page_lists_the_worker_with_its_model_and_a_rate_once_it_has_rendered_and_admins_see_tenants()
    {
        var sweep = await coordinator.SubmitAsync($$"""{"model":"{{model}}","prompts":["p"],"seeds":[1,2,3,4],"steps":1,"width":16,"height":16}""");
        await coordinator.WaitForStateAsync(sweep.Id, Deadline, "completed");

        var page = await browser.OpenAsync(Url, "/#/workers");
        var row = page.Locator("tr[data-worker='gallery-w1']");
        await Expect(row).ToBeVisibleAsync();
        await Expect(row.Locator("td").Nth(3)).ToHaveTextAsync(model);
        await Expect(row.Locator("td").Nth(4)).ToHaveTextAsync("idle");
        // 4 images within the last minute or so: the rate the worker announces is above 0.
        await Expect(row.Locator("td.rate")).Not.ToHaveTextAsync("0.0", new() { Timeout = 10_000 });

        await page.GotoAsync("/#/");
        await Expect(page.Locator($"tr[data-sweep='{sweep.Id}'] td.tenant")).ToHaveTextAsync("anonymous");
        await Browser.ScreenshotAsync(page, "gallery-sweeps");
    }
}
