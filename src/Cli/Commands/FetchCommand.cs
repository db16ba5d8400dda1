namespace Farm.Cli.Commands;

/// <summary>`farm fetch ID --out DIR [--coordinator URL]`: downloads the finished images (and the contact sheet) via presigned URLs.</summary>
internal static class FetchCommand
{
    public static async Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var id = args.Positional(0, "the sweep id");
        var outDir = args.Required("out");
        using var client = FarmClient.From(args);
        args.EnsureAllUsed();
        Directory.CreateDirectory(outDir);
        var status = await client.StatusAsync(id, cancellation);
        var count = 0;
        for (long offset = 0; ; )
        {
            var page = await client.ImagesAsync(id, "completed", offset, 500, cancellation);
            foreach (var item in page.Items)
            {
                await File.WriteAllBytesAsync(Path.Combine(outDir, $"{item.Index:D8}.png"), await client.DownloadAsync(item.Url!, cancellation), cancellation);
                count++;
            }
            if (page.Items.Count < 500) break;
            offset += page.Items.Count;
        }
        if (status.ContactSheetUrl is { } sheet)
        {
            try
            {
                await File.WriteAllBytesAsync(Path.Combine(outDir, "contact-sheet.png"), await client.DownloadAsync(sheet, cancellation), cancellation);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                Console.Error.WriteLine($"farm fetch: no contact sheet yet ({e.Message})");
            }
        }
        Console.WriteLine($"fetched {count} of {status.Images.Total} images of {id} into {Path.GetFullPath(outDir)} ({status.State})");
        return 0;
    }
}
