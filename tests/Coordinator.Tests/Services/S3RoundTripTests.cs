using Amazon.S3.Model;
using Farm.Testing;
using Xunit;

namespace Farm.Coordinator.Tests.Services;

public sealed class S3RoundTripTests
{
    [Fact]
    public async Task A_mebibyte_of_random_bytes_reads_back_from_s3_byte_for_byte()
    {
        var bytes = new byte[1024 * 1024];
        new Random(1234).NextBytes(bytes);

        var readBack = await PutAndGetAsync("sweeps/s1/blob.bin", bytes, "application/octet-stream");

        Assert.Equal(bytes, readBack);
    }

    [Fact]
    public async Task A_small_png_payload_and_its_content_type_read_back_from_s3_unchanged()
    {
        // PNG signature, an IHDR-sized chunk and some text: what a worker uploads, in miniature.
        byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A,
            0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0, 8, 0, 0, 0, 8, 8, 2, 0, 0, 0,
            0x12, 0x34, 0x56, 0x78, .. "tEXtparameters\0a lighthouse, seed 7"u8];

        var readBack = await PutAndGetAsync("sweeps/s1/00000007.png", png, "image/png", expectContentType: true);

        Assert.Equal(png, readBack);
    }

    private static async Task<byte[]> PutAndGetAsync(string key, byte[] payload, string contentType, bool expectContentType = false)
    {
        var bucket = await TestServices.CreateBucketAsync("roundtrip");
        using var s3 = TestServices.CreateS3Client();
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = new MemoryStream(payload),
            ContentType = contentType,
            UseChunkEncoding = false,
        });

        using var response = await s3.GetObjectAsync(bucket, key);
        if (expectContentType) Assert.Equal(contentType, response.Headers.ContentType);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
