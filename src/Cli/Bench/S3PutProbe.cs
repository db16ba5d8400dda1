using System.Diagnostics;
using Farm.Infrastructure.Storage;

namespace Farm.Cli.Bench;

/// <summary>
/// The bucket alone: <c>count</c> signed PUTs of <c>bytes</c> each, <c>connections</c> at a time, through the same
/// <see cref="IObjectStore"/> the workers use. Its rate over two is the most images a second the bucket allows
/// (an image is a PNG and its record).
/// </summary>
internal static class S3PutProbe
{
    public const string Prefix = "probe/";

    public static async Task<double> PutsPerSecondAsync(IObjectStore bucket, int count, int bytes, int connections, CancellationToken cancellation)
    {
        var body = new byte[bytes];
        Random.Shared.NextBytes(body);
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var i && i < count)
                await bucket.PutAsync($"{Prefix}{i:D6}.bin", body, "application/octet-stream", cancellation);
        }, cancellation)));
        return count / clock.Elapsed.TotalSeconds;
    }
}
