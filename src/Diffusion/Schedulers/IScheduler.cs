using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Schedulers;

/// <summary>
/// A diffusers noise scheduler with diffusers' verbs. One instance per render (it keeps per-render state: the step
/// counter and multistep history), never shared across threads; dispose it to free the history tensors.
/// <para>
/// Loop: <c>SetTimesteps(N)</c>; <c>latents = randn · InitNoiseSigma</c>; for each <c>t</c> in <see cref="Timesteps"/>:
/// <c>eps = unet(ScaleModelInput(latents, t), t)</c>, <c>latents = Step(eps, t, latents, generators)</c>.
/// </para>
/// <para>
/// img2img / inpaint (diffusers' pipelines): <c>initSteps = min((int)(N·strength), N)</c>, <c>tStart = N − initSteps</c>;
/// run the loop over <c>Timesteps[(tStart·Order)..]</c> after <c>SetBeginIndex(tStart·Order)</c>, and make the start
/// latents with <c>AddNoise(init, noise, Timesteps[tStart·Order])</c>. Every scheduler accepts the call; those that
/// track a step index (Euler family, LMS, Heun, DPM++, UniPC) start there; DDIM and DDPM work from the timestep values
/// alone; PNDM (which has no begin index in diffusers) simply starts its PLMS counter on the first timestep it is given,
/// so the call after it is treated as the corrector of the first interval, exactly as diffusers does.
/// </para>
/// </summary>
internal interface IScheduler : IDisposable
{
    /// <summary>Our common name (<c>ddim</c>, <c>euler-a</c>, …).</summary>
    string Name { get; }

    /// <summary>The timestep given to the UNet on each call (int64 timesteps are exact in float); empty before <see cref="SetTimesteps"/>.</summary>
    float[] Timesteps { get; }

    /// <summary>Standard deviation of the initial noise: multiply the txt2img start noise by it.</summary>
    double InitNoiseSigma { get; }

    /// <summary>diffusers' <c>order</c>: UNet calls per step in the timestep list (Heun 2, others 1); scales the img2img start index.</summary>
    int Order { get; }

    /// <summary>
    /// Whether diffusers hands the UNet int64 timesteps (DDIM, PNDM, DDPM, DPM++, UniPC) rather than float
    /// (Euler family, LMS, Heun). Informational: the UNet does <c>t.float()</c> either way, so the values agree.
    /// </summary>
    bool IntegerTimesteps { get; }

    /// <summary>Computes the timesteps (and sigmas) for <paramref name="steps"/> inference steps and resets all state.</summary>
    void SetTimesteps(int steps);

    /// <summary>img2img / inpaint: the index in <see cref="Timesteps"/> of the first call (see the type's remarks).</summary>
    void SetBeginIndex(int beginIndex);

    /// <summary>The UNet input for <paramref name="sample"/> at <paramref name="timestep"/>; a new tensor owned by the caller (it may share storage with <paramref name="sample"/> when the scaling is the identity).</summary>
    Tensor ScaleModelInput(Tensor sample, float timestep);

    /// <summary>
    /// One denoising step: the latents after <paramref name="timestep"/>, a new tensor owned by the caller. Stochastic
    /// schedulers (Euler a, DDPM; Euler draws but does not use) draw <c>randn([1, …])</c> from <c>generators[i]</c> for image
    /// <c>i</c> and concatenate, as diffusers does with a list of generators; a single generator draws the whole batch.
    /// </summary>
    Tensor Step(Tensor modelOutput, float timestep, Tensor sample, IReadOnlyList<Generator>? generators = null);

    /// <summary>Forward-diffuses <paramref name="original"/> to <paramref name="timestep"/> with <paramref name="noise"/>; a new tensor owned by the caller.</summary>
    Tensor AddNoise(Tensor original, Tensor noise, float timestep);
}
