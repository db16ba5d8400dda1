using Farm.Diffusion.Tokenization;

namespace Farm.Cli.Commands;

/// <summary>`farm tokenize --model DIR TEXT`: the 77 ids the text encoder sees, and how many content tokens the text has.</summary>
internal static class TokenizeCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var modelDir = args.Required("model");
        args.EnsureAllUsed();
        var text = string.Join(' ', args.Positionals);
        var tokenizerDir = Path.Combine(modelDir, "tokenizer");
        if (!Directory.Exists(tokenizerDir)) throw new UsageException($"{tokenizerDir} not found: --model must be a diffusers model folder");
        var tokenizer = ClipTokenizer.FromDirectory(tokenizerDir);
        var result = tokenizer.EncodeDetailed(text);
        Console.WriteLine(string.Join(' ', result.InputIds));
        var kept = Math.Min(result.ContentTokenCount, result.MaxContentTokens);
        Console.WriteLine(result.Truncated
            ? $"{result.ContentTokenCount} tokens: truncated to {result.MaxContentTokens}, the last {result.ContentTokenCount - kept} are dropped"
            : $"{result.ContentTokenCount} tokens (of {result.MaxContentTokens} available)");
        return Task.FromResult(0);
    }
}
