using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Farm.Coordinator.Assets;
using Farm.Coordinator.Tests.Tenancy;
using Farm.Shared.Layout;
using Farm.Testing;
using SkiaSharp;
using Xunit;

namespace Farm.Coordinator.Tests.Assets;

/// <summary>POST /v1/assets on real Redis and s3rver: images are stored content-addressed; anything else is refused with the reason.</summary>
public sealed class AssetApiTests : IAsyncLifetime
{
    private const int MaxBytes = 200_000;
    private TenantCoordinator coordinator = null!;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        coordinator = await TenantCoordinator.StartAsync("assets", new Dictionary<string, string?> { ["Assets:MaxBytes"] = MaxBytes.ToString() });
        http = coordinator.Client(null);
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await coordinator.DisposeAsync();
    }

    private async Task<HttpResponseMessage> UploadAsync(byte[] body, string contentType = "image/png")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await http.PostAsync("v1/assets", content);
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "png")]
    [InlineData(SKEncodedImageFormat.Jpeg, "jpeg")]
    [InlineData(SKEncodedImageFormat.Webp, "webp")]
    public async Task An_image_is_stored_as_a_png_named_by_its_sha256_and_answered_with_its_size(SKEncodedImageFormat format, string name)
    {
        var upload = TestImages.Encode(format, 72, 40);
        using var response = await UploadAsync(upload, "image/" + name);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var asset = (await response.Content.ReadFromJsonAsync<AssetInfo>())!;
        Assert.Equal((72, 40, name), (asset.Width, asset.Height, asset.Format));
        var stored = await coordinator.Bucket.GetAsync(StorageKeys.Asset(asset.Id));
        Assert.NotNull(stored);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(stored)), asset.Id);
        Assert.Equal(stored.Length, asset.Bytes);
        using var codec = SKCodec.Create(new MemoryStream(stored));
        Assert.Equal((SKEncodedImageFormat.Png, 72, 40), (codec.EncodedFormat, codec.Info.Width, codec.Info.Height));
        if (format == SKEncodedImageFormat.Png)
        {
            // Lossless all the way: the stored PNG holds the uploaded pixels.
            using var original = SKBitmap.Decode(upload);
            using var copy = SKBitmap.Decode(stored);
            Assert.Equal(original.Pixels, copy.Pixels);
        }
    }

    [Fact]
    public async Task A_sideways_phone_photo_is_stored_upright_by_its_exif_orientation()
    {
        // Stored 96 wide, 64 high, red growing to the right and green downwards; orientation 6 = turn 90° clockwise to view.
        var photo = TestImages.WithExifOrientation(TestImages.Encode(SKEncodedImageFormat.Jpeg, 96, 64, quality: 100), 6);
        using var response = await UploadAsync(photo, "image/jpeg");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var asset = (await response.Content.ReadFromJsonAsync<AssetInfo>())!;
        Assert.Equal((64, 96), (asset.Width, asset.Height));
        using var upright = SKBitmap.Decode((await coordinator.Bucket.GetAsync(StorageKeys.Asset(asset.Id)))!);
        // Turned clockwise, the stored bottom-left corner (no red, full green) is now the top-left one; the stored top-left the top-right.
        var (topLeft, topRight) = (upright.GetPixel(0, 0), upright.GetPixel(63, 0));
        Assert.True(topLeft.Red < 30 && topLeft.Green > 225, $"top-left {topLeft}");
        Assert.True(topRight.Red < 30 && topRight.Green < 30, $"top-right {topRight}");
    }

    [Fact]
    public async Task The_same_image_uploaded_twice_gets_the_same_id()
    {
        var png = TestImages.Png(16, 16);
        using var first = await UploadAsync(png);
        using var second = await UploadAsync(png);
        var id = (await first.Content.ReadFromJsonAsync<AssetInfo>())!.Id;
        Assert.Equal(id, (await second.Content.ReadFromJsonAsync<AssetInfo>())!.Id);

        // Where Created points: its size and a URL that serves the stored PNG.
        var link = JsonDocument.Parse(await http.GetStringAsync(first.Headers.Location)).RootElement;
        Assert.Equal((16, 16), (link.GetProperty("width").GetInt32(), link.GetProperty("height").GetInt32()));
        using var plain = new HttpClient();
        var stored = await plain.GetByteArrayAsync(link.GetProperty("url").GetString());
        Assert.Equal(id, Convert.ToHexStringLower(SHA256.HashData(stored)));
        using var missing = await http.GetAsync($"v1/assets/{new string('0', 64)}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_truncated_png_is_refused_with_the_reason()
    {
        var png = TestImages.Png(64, 64);
        using var response = await UploadAsync(png[..(png.Length / 2)]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("truncated", await DetailAsync(response));
    }

    [Fact]
    public async Task A_file_that_is_no_image_is_refused_with_the_reason()
    {
        using var response = await UploadAsync(Encoding.UTF8.GetBytes("model: tiny\nprompts: [a cat]\n"), "application/octet-stream");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not a PNG, JPEG or WebP", await DetailAsync(response));
    }

    [Fact]
    public async Task A_png_whose_header_declares_60000_by_60000_is_refused_before_decoding()
    {
        using var response = await UploadAsync(TestImages.PngDeclaring(60_000, 60_000));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("declares 60000x60000", await DetailAsync(response));
        var memory = Environment.WorkingSet;
        // 60000 × 60000 RGBA would be 14.4 GB; the coordinator is alive and did not take it.
        Assert.True(memory < 4L << 30, $"working set {memory} bytes");
        using var health = await http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_png_with_corrupt_pixel_data_is_refused()
    {
        var png = TestImages.Png(64, 64);
        var idat = png.AsSpan().IndexOf("IDAT"u8);
        for (var i = idat + 10; i < idat + 200 && i < png.Length - 12; i++) png[i] ^= 0x5A;
        using var response = await UploadAsync(png);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("png data is", await DetailAsync(response));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_by_its_content_length_and_while_streaming()
    {
        using var declared = await UploadAsync(new byte[MaxBytes + 1]);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Contains($"At most {MaxBytes} bytes", await DetailAsync(declared));

        // No Content-Length (chunked): counted as it arrives.
        var streamed = new StreamContent(new NoLengthStream(new byte[MaxBytes * 3]));
        using var response = await http.PostAsync("v1/assets", streamed);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_sweep_with_an_init_asset_takes_its_size_and_records_init_and_strength_in_its_manifest()
    {
        using var upload = await UploadAsync(TestImages.Png(96, 64));
        var asset = (await upload.Content.ReadFromJsonAsync<AssetInfo>())!;
        using var mismatched = await http.PostAsync("v1/sweeps", new StringContent(
            $$"""{"model":"tiny","prompts":["a cat"],"seeds":[1],"init":"{{asset.Id}}","width":64,"height":64}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, mismatched.StatusCode);
        var errors = (await mismatched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("96x64", errors.GetProperty("width")[0].GetString());

        using var accepted = await http.PostAsync("v1/sweeps", new StringContent(
            $$"""{"model":"tiny","prompts":["a cat"],"seeds":[1],"init":"{{asset.Id}}","strength":[0.3,0.8]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var manifest = JsonDocument.Parse((await coordinator.Bucket.GetAsync(StorageKeys.Manifest(id)))!).RootElement.GetProperty("spec");
        Assert.Equal(asset.Id, manifest.GetProperty("init").GetString());
        Assert.Equal([0.3, 0.8], manifest.GetProperty("strength").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal((96, 64), (manifest.GetProperty("width").GetInt32(), manifest.GetProperty("height").GetInt32()));
    }

    [Fact]
    public async Task Once_keys_exist_an_upload_needs_one()
    {
        var key = await coordinator.CreateKeyAsync("alice");
        using var anonymous = await UploadAsync(TestImages.Png(8, 8));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var keyed = coordinator.Client(key);
        var content = new ByteArrayContent(TestImages.Png(8, 8));
        using var response = await keyed.PostAsync("v1/assets", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>A stream that does not tell its length, so HttpClient sends it chunked.</summary>
    private sealed class NoLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
