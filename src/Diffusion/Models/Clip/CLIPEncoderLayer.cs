using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Clip;

/// <summary>Pre-norm transformer layer: x + attn(ln1(x)), then x + mlp(ln2(x)).</summary>
internal sealed class CLIPEncoderLayer : Module
{
    private readonly CLIPAttention selfAttn;
    private readonly LayerNorm layerNorm1;
    private readonly CLIPMLP mlp;
    private readonly LayerNorm layerNorm2;

    public CLIPEncoderLayer(CLIPTextConfig config)
    {
        selfAttn = Child("self_attn", new CLIPAttention(config));
        layerNorm1 = Child("layer_norm1", new LayerNorm(config.HiddenSize, config.LayerNormEps));
        mlp = Child("mlp", new CLIPMLP(config));
        layerNorm2 = Child("layer_norm2", new LayerNorm(config.HiddenSize, config.LayerNormEps));
    }

    public Tensor Forward(Tensor hiddenStates, Tensor causalMask)
    {
        using var scope = torch.NewDisposeScope();
        var residual = hiddenStates;
        var h = residual + selfAttn.Forward(layerNorm1.Forward(hiddenStates), causalMask);
        residual = h;
        h = residual + mlp.Forward(layerNorm2.Forward(h));
        return scope.MoveToOuter(h);
    }
}
