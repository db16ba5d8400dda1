using System.Globalization;
using Farm.Diffusion.Pipelines;

namespace Farm.Cli.Commands;

/// <summary><c>--lora PATH[:SCALE]</c> and <c>--embedding PATH[:TOKEN]</c>: the suffix is split off only when the whole argument is not a file.</summary>
internal static class AdapterArguments
{
    public static LoraReference Lora(string argument)
    {
        if (File.Exists(argument)) return new LoraReference(argument);
        var colon = argument.LastIndexOf(':');
        if (colon > 0 && File.Exists(argument[..colon]))
        {
            var scale = argument[(colon + 1)..];
            if (!double.TryParse(scale, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                throw new UsageException($"--lora {argument}: the scale after ':' must be a number, got '{scale}'");
            return new LoraReference(argument[..colon], value);
        }
        throw new UsageException($"--lora: {(colon > 0 ? argument[..colon] : argument)} not found");
    }

    public static EmbeddingReference Embedding(string argument)
    {
        if (File.Exists(argument)) return new EmbeddingReference(argument);
        var colon = argument.LastIndexOf(':');
        if (colon > 0 && File.Exists(argument[..colon]))
        {
            var token = argument[(colon + 1)..];
            if (token.Length == 0 || token.Any(char.IsWhiteSpace))
                throw new UsageException($"--embedding {argument}: the token after ':' must be one word without spaces");
            return new EmbeddingReference(argument[..colon], token);
        }
        throw new UsageException($"--embedding: {(colon > 0 ? argument[..colon] : argument)} not found");
    }
}
