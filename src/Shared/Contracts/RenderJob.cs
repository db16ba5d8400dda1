namespace Farm.Shared.Contracts;

/// <summary>
/// Render these seeds with otherwise identical parameters (one UNet batch). Image i of the job has the
/// sweep index <c>FirstImageIndex + i</c>; keys in the bucket follow from that (<see cref="Layout.StorageKeys"/>).
/// </summary>
public sealed record RenderJob(
    string SweepId,
    long JobIndex,
    string Model,
    string Prompt,
    string NegativePrompt,
    int Steps,
    double GuidanceScale,
    string Scheduler,
    int Width,
    int Height,
    long FirstImageIndex,
    long[] Seeds);
