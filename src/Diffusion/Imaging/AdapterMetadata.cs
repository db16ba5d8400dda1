namespace Farm.Diffusion.Imaging;

/// <summary>A LoRA a render used: its name (the file stem), strength and the SHA-256 of its file.</summary>
public sealed record LoraMetadata(string Name, double Scale, string Sha256);

/// <summary>A textual-inversion embedding a render used: the prompt token, its file stem and the SHA-256 of its file.</summary>
public sealed record EmbeddingMetadata(string Token, string Name, string Sha256);
