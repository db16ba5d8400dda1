using System.Text;
using Farm.Infrastructure;
using Farm.Infrastructure.Storage;
using Farm.Testing;
using Xunit;

namespace Farm.Coordinator.Tests.Contracts;

/// <summary>What every bucket does, run against a folder (the embedded default) and s3rver.</summary>
public abstract class ObjectStoreContract
{
    protected abstract Task<IObjectStore> CreateAsync();

    [Fact]
    public async Task Objects_read_back_byte_for_byte_and_missing_ones_read_as_null()
    {
        var store = await CreateAsync();
        var bytes = new byte[70_000];
        new Random(7).NextBytes(bytes);
        await store.PutAsync("sweeps/s/images/00000001.png", bytes, "image/png");
        Assert.Equal(bytes, await store.GetAsync("sweeps/s/images/00000001.png"));
        Assert.True(await store.ExistsAsync("sweeps/s/images/00000001.png"));
        Assert.False(await store.ExistsAsync("sweeps/s/images/00000002.png"));
        Assert.Null(await store.GetAsync("sweeps/s/nothing.json"));
    }

    [Fact]
    public async Task A_copy_inside_the_bucket_reads_back_byte_identical_and_a_missing_source_copies_nothing()
    {
        var store = await CreateAsync();
        var bytes = new byte[300_000];
        new Random(11).NextBytes(bytes);
        await store.PutAsync("sweeps/a/images/00000000.png", bytes, "image/png");
        Assert.True(await store.CopyAsync("sweeps/a/images/00000000.png", "sweeps/b/images/00000007.png"));
        var copy = await store.GetAsync("sweeps/b/images/00000007.png");
        Assert.NotNull(copy);
        Assert.True(bytes.AsSpan().SequenceEqual(copy), "the copy is not byte identical");
        Assert.Equal(bytes, await store.GetAsync("sweeps/a/images/00000000.png"));

        Assert.False(await store.CopyAsync("sweeps/a/images/00000001.png", "sweeps/b/images/00000008.png"));
        Assert.False(await store.ExistsAsync("sweeps/b/images/00000008.png"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1024 * 1024)]
    [InlineData(50 * 1024 * 1024)]
    public async Task Payloads_of_one_byte_one_mebibyte_and_fifty_mebibytes_read_back_byte_identical(int size)
    {
        var store = await CreateAsync();
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var key = $"sweeps/s/blobs/{size}.bin";
        await store.PutAsync(key, bytes, "application/octet-stream");
        var back = await store.GetAsync(key);
        Assert.NotNull(back);
        Assert.Equal(size, back.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(back), $"the {size}-byte object did not read back byte for byte");
    }

    [Fact]
    public async Task A_file_streamed_in_streams_back_out_byte_identical()
    {
        var store = await CreateAsync();
        var path = Path.GetTempFileName();
        try
        {
            var bytes = new byte[3 * 1024 * 1024 + 17];
            new Random(3).NextBytes(bytes);
            await File.WriteAllBytesAsync(path, bytes);
            await using (var file = File.OpenRead(path)) await store.PutStreamAsync("models/m/files/unet.safetensors", file, "application/octet-stream");
            using var back = new MemoryStream();
            Assert.True(await store.CopyToAsync("models/m/files/unet.safetensors", back));
            Assert.True(bytes.AsSpan().SequenceEqual(back.ToArray()), "the streamed object did not read back byte for byte");
            Assert.False(await store.CopyToAsync("models/m/files/missing", new MemoryStream()));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Listing_returns_the_keys_below_a_prefix_in_order_and_urls_serve_the_object()
    {
        var store = await CreateAsync();
        foreach (var key in new[] { "sweeps/a/images/00000002.json", "sweeps/a/images/00000001.json", "sweeps/b/x.json" })
            await store.PutAsync(key, Encoding.UTF8.GetBytes(key), "application/json");
        var keys = new List<string>();
        await foreach (var key in store.ListAsync("sweeps/a/")) keys.Add(key);
        Assert.Equal(["sweeps/a/images/00000001.json", "sweeps/a/images/00000002.json"], keys);

        var url = new Uri(store.GetUrl("sweeps/b/x.json", TimeSpan.FromMinutes(5)));
        var body = url.IsFile ? await File.ReadAllBytesAsync(url.LocalPath) : await new HttpClient().GetByteArrayAsync(url);
        Assert.Equal("sweeps/b/x.json", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task Listing_goes_past_one_page_of_a_thousand_keys()
    {
        var store = await CreateAsync();
        var expected = Enumerable.Range(0, 1003).Select(i => $"sweeps/p/images/{i:D8}.json").ToList();
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (key, ct) => await store.PutAsync(key, Encoding.UTF8.GetBytes(key), "application/json", ct));
        var keys = new List<string>();
        await foreach (var key in store.ListAsync("sweeps/p/")) keys.Add(key);
        Assert.Equal(expected, keys);
    }
}

public sealed class FolderObjectStoreTests : ObjectStoreContract
{
    protected override Task<IObjectStore> CreateAsync() =>
        Task.FromResult<IObjectStore>(new FolderObjectStore(Directory.CreateTempSubdirectory("farm-bucket.").FullName));
}

public sealed class S3ObjectStoreTests : ObjectStoreContract
{
    protected override async Task<IObjectStore> CreateAsync()
    {
        var bucket = await TestServices.CreateBucketAsync("contract");
        return new S3ObjectStore(new S3Options { Url = TestServices.S3Url.ToString(), Bucket = bucket, AccessKey = TestServices.S3AccessKey, SecretKey = TestServices.S3SecretKey });
    }
}
