using System.CommandLine;
using Farm.Cli.Parsing;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm fetch ID --out DIR [--grids] [--coordinator URL] [--api-key KEY]`: downloads the finished images (and the contact
/// sheet) via presigned URLs; with --grids, the X/Y/Z grids instead, into DIR/grids.
/// </summary>
internal static class FetchCommand
{
    public static Command Create()
    {
        var idArgument = new Argument<string>("id") { Description = "the sweep id" };
        var outOption = FarmOptions.Required("--out", "the folder to write the images into", "DIR");
        var coordinator = FarmOptions.Coordinator();
        var apiKey = FarmOptions.ApiKey();
        var gridsOption = FarmOptions.Flag("--grids", "download the X/Y/Z grids (into DIR/grids) instead of the images");
        var command = new Command("fetch", "download a sweep's finished images and its contact sheet") { idArgument, outOption, gridsOption, coordinator, apiKey };
        command.SetAction((parse, cancellation) => parse.GetValue(gridsOption)
            ? GridsAsync(parse.GetValue(idArgument)!, parse.GetValue(outOption)!, parse.GetValue(coordinator), parse.GetValue(apiKey), cancellation)
            : RunAsync(parse.GetValue(idArgument)!, parse.GetValue(outOption)!, parse.GetValue(coordinator), parse.GetValue(apiKey), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(string id, string outDir, string? coordinator, string? apiKey, CancellationToken cancellation)
    {
        using var client = FarmClient.From(coordinator, apiKey);
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

    private static async Task<int> GridsAsync(string id, string outDir, string? coordinator, string? apiKey, CancellationToken cancellation)
    {
        using var client = FarmClient.From(coordinator, apiKey);
        var grids = await client.GridsAsync(id, cancellation);
        var folder = Path.Combine(outDir, "grids");
        Directory.CreateDirectory(folder);
        foreach (var grid in grids.Items)
            await File.WriteAllBytesAsync(Path.Combine(folder, $"{grid.Z}-{grid.Page}.png"), await client.DownloadAsync(grid.Url, cancellation), cancellation);
        Console.WriteLine(grids.Items.Count == 0
            ? $"no grids for {id} yet: they are drawn when the sweep finishes"
            : $"fetched {grids.Items.Count} grid(s) of {id} into {Path.GetFullPath(folder)}");
        return 0;
    }
}
