using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models.Blocks;

/// <summary>
/// Sinusoidal timestep embedding (diffusers' get_timestep_embedding, max_period 10000, scale 1), in float32,
/// written op by op as diffusers does so the rounding is the same: exponent = −ln(10000)·arange(half) / (half − shift).
/// </summary>
internal sealed class Timesteps : Module
{
    private readonly long channels;
    private readonly bool flipSinToCos;
    private readonly double downscaleFreqShift;

    public Timesteps(long channels, bool flipSinToCos, double downscaleFreqShift)
    {
        this.channels = channels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
    }

    /// <param name="timesteps">[B], any numeric dtype.</param>
    /// <returns>[B, channels] float32.</returns>
    public Tensor Forward(Tensor timesteps)
    {
        using var scope = torch.NewDisposeScope();
        var half = channels / 2;
        var exponent = -Math.Log(10000) * torch.arange(0, half, 1, ScalarType.Float32);
        exponent = exponent / (half - downscaleFreqShift);
        var frequencies = exponent.exp();
        if (timesteps.device != Device.Cpu) frequencies = frequencies.to(timesteps.device);
        var args = timesteps.reshape(-1, 1).to(ScalarType.Float32) * frequencies.reshape(1, half);
        // cat([sin, cos]) then, with flip_sin_to_cos, swap the halves: the same values as cat([cos, sin]).
        var emb = flipSinToCos ? torch.cat([args.cos(), args.sin()], -1) : torch.cat([args.sin(), args.cos()], -1);
        if (channels % 2 == 1) emb = torch.nn.functional.pad(emb, 0, 1, 0, 0);
        return scope.MoveToOuter(emb);
    }
}
