using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Diffusion.Tokenization;

namespace Farm.Cli.Commands;

/// <summary>`farm tokenize --model DIR TEXT`: the 77 ids the text encoder sees, and how many content tokens the text has.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var modelOption = FarmOptions.Required("--model", "a diffusers model folder (its tokenizer/ is used)", "DIR");
        var textArgument = new Argument<string[]>("text") { Description = "the prompt (words are joined with spaces)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("tokenize", "show the token ids of a prompt and whether it is truncated") { modelOption, textArgument };
        command.SetAction(parse => Run(parse.GetValue(modelOption)!, string.Join(' ', parse.GetValue(textArgument) ?? [])));
        return command;
    }

    private static int Run(string modelDir, string text)
    {
        var tokenizerDir = Path.Combine(modelDir, "tokenizer");
        if (!Directory.Exists(tokenizerDir)) throw new UsageException($"{tokenizerDir} not found: --model must be a diffusers model folder");
        var tokenizer = ClipTokenizer.FromDirectory(tokenizerDir);
        var result = tokenizer.EncodeDetailed(text);
        Console.WriteLine(string.Join(' ', result.InputIds));
        var kept = Math.Min(result.ContentTokenCount, result.MaxContentTokens);
        Console.WriteLine(result.Truncated
            ? $"{result.ContentTokenCount} tokens: truncated to {result.MaxContentTokens}, the last {result.ContentTokenCount - kept} are dropped"
            : $"{result.ContentTokenCount} tokens (of {result.MaxContentTokens} available)");
        return 0;
    }
}
