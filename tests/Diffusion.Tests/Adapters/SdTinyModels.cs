using Farm.Diffusion.Models;
using Farm.Diffusion.Models.Clip;
using Farm.Diffusion.Models.Unet;
using Farm.Diffusion.Tokenization;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Adapters;

/// <summary>The sd-tiny text encoder, tokenizer and UNet, loaded once per test class (adapters attach and detach per test).</summary>
public sealed class SdTinyModels : IDisposable
{
    private readonly Lazy<CLIPTextModel> textEncoder;
    private readonly Lazy<UNet2DConditionModel> unet;
    private readonly Lazy<ClipTokenizer> tokenizer;

    public SdTinyModels()
    {
        textEncoder = new(() => CLIPTextModel.FromPretrained(ModelIndex.Load(Fixtures.ModelDir).TextEncoder, ScalarType.Float32, Device.Cpu));
        unet = new(() => UNet2DConditionModel.FromDirectory(Path.Combine(Fixtures.ModelDir, "unet"), ScalarType.Float32, Device.Cpu));
        tokenizer = new(() => ClipTokenizer.FromDirectory(Path.Combine(Fixtures.ModelDir, "tokenizer")));
    }

    internal CLIPTextModel TextEncoder => textEncoder.Value;

    internal UNet2DConditionModel Unet => unet.Value;

    internal ClipTokenizer Tokenizer => tokenizer.Value;

    internal Farm.Diffusion.Adapters.LoraModels LoraModels => new(Unet, TextEncoder);

    /// <summary>prompt_embeds as the SD pipeline builds them for CFG: [uncond; cond] last hidden states, [2, 77, H].</summary>
    internal Tensor PromptEmbeds(string prompt, string negativePrompt, ClipTokenizer? withTokens = null, Func<string, string>? convert = null)
    {
        var tok = withTokens ?? Tokenizer;
        convert ??= p => p;
        using var scope = torch.NewDisposeScope();
        var ids = new[] { convert(negativePrompt), convert(prompt) }
            .SelectMany(p => tok.Encode(p).Select(i => (long)i)).ToArray();
        using var output = TextEncoder.Forward(torch.tensor(ids, 2, tok.MaxLength));
        return scope.MoveToOuter(output.LastHiddenState.clone());
    }

    public void Dispose()
    {
        if (textEncoder.IsValueCreated) textEncoder.Value.Dispose();
        if (unet.IsValueCreated) unet.Value.Dispose();
    }
}
