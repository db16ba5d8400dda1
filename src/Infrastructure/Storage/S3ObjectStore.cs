using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Farm.Infrastructure.Storage;

/// <summary>
/// Any S3-compatible server (MinIO, s3rver, AWS), path-style. Checksums only when required and no
/// aws-chunked bodies: s3rver would store those verbatim (design.md).
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly AmazonS3Client client;
    private readonly string bucket;
    private readonly bool http;

    public S3ObjectStore(S3Options options)
    {
        bucket = options.Bucket;
        http = options.Url.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        client = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), new AmazonS3Config
        {
            ServiceURL = options.Url,
            ForcePathStyle = true,
            AuthenticationRegion = options.Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        client.BeforeRequestEvent += UnescapeCopySourceSlashes;
    }

    public string Location => $"s3://{bucket}";

    public async Task PutAsync(string key, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellation = default)
    {
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = new MemoryStream(bytes.ToArray(), writable: false),
            ContentType = contentType,
            UseChunkEncoding = false,
        }, cancellation);
    }

    public async Task PutStreamAsync(string key, Stream content, string contentType, CancellationToken cancellation = default)
    {
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            InputStream = content,
            AutoCloseStream = false,
            ContentType = contentType,
            UseChunkEncoding = false,
        }, cancellation);
    }

    public async Task<bool> CopyToAsync(string key, Stream destination, CancellationToken cancellation = default)
    {
        try
        {
            using var response = await client.GetObjectAsync(bucket, key, cancellation);
            await response.ResponseStream.CopyToAsync(destination, cancellation);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task<bool> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellation = default)
    {
        try
        {
            await client.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = bucket,
                SourceKey = sourceKey,
                DestinationBucket = bucket,
                DestinationKey = destinationKey,
            }, cancellation);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellation = default)
    {
        try
        {
            using var response = await client.GetObjectAsync(bucket, key, cancellation);
            using var copy = new MemoryStream();
            await response.ResponseStream.CopyToAsync(copy, cancellation);
            return copy.ToArray();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellation = default)
    {
        try
        {
            await client.GetObjectMetadataAsync(bucket, key, cancellation);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        string? token = null;
        do
        {
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token }, cancellation);
            foreach (var o in page.S3Objects ?? []) yield return o.Key;
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);
    }

    public string GetUrl(string key, TimeSpan validFor) => client.GetPreSignedURL(new GetPreSignedUrlRequest
    {
        BucketName = bucket,
        Key = key,
        Verb = HttpVerb.GET,
        Expires = DateTime.UtcNow.Add(validFor),
        Protocol = http ? Protocol.HTTP : Protocol.HTTPS,
    });

    // The SDK sends x-amz-copy-source as "bucket%2Fkey"; s3rver decodes it with decodeURI, which leaves "%2F", and finds
    // no such bucket. S3 and MinIO take literal slashes as well, so they are sent literally (before signing).
    private static void UnescapeCopySourceSlashes(object sender, RequestEventArgs e)
    {
        if (e is WebServiceRequestEventArgs { Headers: { } headers } && headers.TryGetValue(CopySourceHeader, out var source))
            headers[CopySourceHeader] = source.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
    }

    private const string CopySourceHeader = "x-amz-copy-source";

    public void Dispose() => client.Dispose();
}
