namespace Farm.Infrastructure.Storage;

/// <summary>The bucket: the ledger of finished work. S3 in deployment, a folder in the embedded default.</summary>
public interface IObjectStore
{
    /// <summary>A name for logs and the CLI: <c>s3://bucket</c> or the folder path.</summary>
    string Location { get; }

    Task PutAsync(string key, ReadOnlyMemory<byte> bytes, string contentType, CancellationToken cancellation = default);

    /// <summary>Uploads a stream of known length (a model file of gigabytes) without holding it in memory.</summary>
    Task PutStreamAsync(string key, Stream content, string contentType, CancellationToken cancellation = default);

    /// <summary>Copies the object into <paramref name="destination"/>; false when there is no such key.</summary>
    Task<bool> CopyToAsync(string key, Stream destination, CancellationToken cancellation = default);

    /// <summary>Copies an object to another key inside the bucket (server-side for S3: the bytes never leave it); false when there is no such source.</summary>
    Task<bool> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellation = default);

    /// <summary>The object's bytes, or null when there is no such key.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellation = default);

    Task<bool> ExistsAsync(string key, CancellationToken cancellation = default);

    /// <summary>Keys starting with <paramref name="prefix"/>, in ascending order.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellation = default);

    /// <summary>A URL a client can GET the object from without credentials (presigned for S3, file:// for a folder).</summary>
    string GetUrl(string key, TimeSpan validFor);
}
