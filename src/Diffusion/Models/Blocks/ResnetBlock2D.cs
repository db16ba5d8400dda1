using Farm.Diffusion.Models.Layers;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// diffusers' ResnetBlock2D with time_embedding_norm "default", SiLU, and output_scale_factor 1:
/// GroupNorm → SiLU → conv1 (+ projected time embedding) → GroupNorm → SiLU → conv2, plus the (1×1-projected) input.
/// </summary>
internal sealed class ResnetBlock2D : Module
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear? timeEmbProj;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? convShortcut;

    /// <param name="tembChannels">Width of the time embedding, or null for the VAE's blocks (no time_emb_proj).</param>
    public ResnetBlock2D(long inChannels, long outChannels, long? tembChannels, long groups, double eps)
    {
        norm1 = Child("norm1", new GroupNorm(groups, inChannels, eps));
        conv1 = Child("conv1", new Conv2d(inChannels, outChannels, 3, padding: 1));
        if (tembChannels is { } t) timeEmbProj = Child("time_emb_proj", new Linear(t, outChannels));
        norm2 = Child("norm2", new GroupNorm(groups, outChannels, eps));
        conv2 = Child("conv2", new Conv2d(outChannels, outChannels, 3, padding: 1));
        if (inChannels != outChannels) convShortcut = Child("conv_shortcut", new Conv2d(inChannels, outChannels, 1));
    }

    public Tensor Forward(Tensor input, Tensor? temb)
    {
        using var scope = torch.NewDisposeScope();
        Tensor h;
        using (var hidden = NormSiluConv(norm1, conv1, input))
        {
            if (timeEmbProj is not null && temb is not null)
            {
                using var t = timeEmbProj.Forward(temb.silu());
                hidden.add_(t.reshape(t.size(0), t.size(1), 1, 1)); // h + temb[:, :, None, None]
            }
            h = NormSiluConv(norm2, conv2, hidden);
        }
        // (input + h) / output_scale_factor; the factor is 1 in every SD config and x / 1.0 is exact, so it is skipped.
        if (convShortcut is null) h.add_(input);
        else
        {
            using var shortcut = convShortcut.Forward(input);
            h.add_(shortcut);
        }
        return scope.MoveToOuter(h);
    }

    /// <summary>conv(silu(norm(x))), with the activation in place and freed before returning: peak memory, not speed.</summary>
    private static Tensor NormSiluConv(GroupNorm norm, Conv2d conv, Tensor x)
    {
        using var activated = norm.Forward(x).silu_();
        return conv.Forward(activated);
    }
}
