using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Loading;

internal enum TensorOpKind
{
    /// <summary>The stored tensor as it is.</summary>
    Copy,

    /// <summary>A 1×1 convolution weight <c>[out, in, 1, 1]</c> read as a Linear weight <c>[out, in]</c> (the LDM VAE's mid attention).</summary>
    ConvToLinear,

    /// <summary>A 2-D tensor transposed (OpenCLIP's <c>text_projection</c> is <c>x @ P</c>, a Linear weight is <c>Pᵀ</c>).</summary>
    Transpose,

    /// <summary>Part <see cref="TensorOp.Part"/> of <see cref="TensorOp.Parts"/> equal slices along dim 0 (OpenCLIP's fused q, k, v).</summary>
    Slice,
}

/// <summary>How one diffusers tensor is made from one stored tensor. Applied tensor by tensor at load time.</summary>
internal readonly record struct TensorOp(TensorOpKind Kind, int Part = 0, int Parts = 1)
{
    public static readonly TensorOp Copy = new(TensorOpKind.Copy);
    public static readonly TensorOp ConvToLinear = new(TensorOpKind.ConvToLinear);
    public static readonly TensorOp Transpose = new(TensorOpKind.Transpose);

    public static TensorOp Slice(int part, int parts) => new(TensorOpKind.Slice, part, parts);

    /// <summary>The shape of the result for a stored tensor of <paramref name="stored"/> shape; null when the op does not apply to it.</summary>
    public long[]? ResultShape(long[] stored) => Kind switch
    {
        TensorOpKind.Copy => stored,
        TensorOpKind.ConvToLinear => stored.Length == 4 && stored[2] == 1 && stored[3] == 1 ? [stored[0], stored[1]]
            : stored.Length == 2 ? stored : null, // some converted files already hold the Linear shape
        TensorOpKind.Transpose => stored.Length == 2 ? [stored[1], stored[0]] : null,
        TensorOpKind.Slice => stored.Length >= 1 && stored[0] % Parts == 0 ? [stored[0] / Parts, .. stored[1..]] : null,
        _ => null,
    };

    /// <summary>Applies the op to <paramref name="stored"/> (which it does not dispose); the result is contiguous and new.</summary>
    public Tensor Apply(Tensor stored)
    {
        var shape = stored.shape;
        switch (Kind)
        {
            case TensorOpKind.Copy:
                return stored.clone();
            case TensorOpKind.ConvToLinear:
                return shape.Length == 4 ? stored.reshape(shape[0], shape[1]).contiguous() : stored.clone();
            case TensorOpKind.Transpose:
            {
                using var t = stored.transpose(0, 1);
                return t.contiguous();
            }
            case TensorOpKind.Slice:
            {
                var size = shape[0] / Parts;
                using var part = stored.narrow(0, Part * size, size);
                return part.contiguous();
            }
            default:
                throw new InvalidOperationException($"unknown tensor op {Kind}");
        }
    }

    public override string ToString() => Kind switch
    {
        TensorOpKind.Slice => $"slice {Part + 1}/{Parts} of dim 0",
        _ => Kind.ToString(),
    };
}

/// <summary>One diffusers tensor of a component (<c>unet</c>: <c>conv_in.weight</c>) and the stored tensor it comes from.</summary>
internal sealed record KeyMapping(string Component, string Key, string Source, TensorOp Op);
