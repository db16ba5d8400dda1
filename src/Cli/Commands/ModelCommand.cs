using Farm.Diffusion.Models;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm model init-tiny DIR [--seed N] [--force]`: writes a seeded random-weight tiny SD1.x pipeline in diffusers layout.
/// `farm model inspect PATH [--config DIR]`: describes a model folder, checkpoint file or LoRA (<see cref="ModelInspectCommand"/>).
/// </summary>
internal static class ModelCommand
{
    public static Task<int> RunAsync(CliArgs args, CancellationToken cancellation)
    {
        var verb = args.Positional(0, "a model command: init-tiny DIR or inspect PATH");
        if (verb == "inspect")
        {
            var path = args.Positional(1, "the model folder or checkpoint file to inspect");
            var configDir = args.String("config");
            args.EnsureAllUsed();
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"{path} does not exist");
            return Task.FromResult(ModelInspectCommand.Run(path, configDir));
        }
        if (verb != "init-tiny") throw new UsageException($"unknown model command '{verb}': use init-tiny DIR or inspect PATH");
        var dir = args.Positional(1, "the folder to write the tiny model into");
        var seed = args.Int("seed", TinyModel.DefaultSeed, min: 0);
        var force = args.Flag("force");
        args.EnsureAllUsed();
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !force)
            throw new UsageException($"{dir} exists and is not empty; pass --force to overwrite");
        TinyModel.Write(dir, seed);
        Console.WriteLine($"wrote a tiny random-weight SD1.x model (seed {seed}) to {dir}; try: ./farm render --model {dir} --prompt \"a red fox\" --out fox.png");
        return Task.FromResult(0);
    }
}
