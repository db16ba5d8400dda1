using System.CommandLine;
using Farm.Cli.Parsing;
using Farm.Diffusion.Models;

namespace Farm.Cli.Commands;

/// <summary>
/// `farm model init-tiny DIR [--seed N] [--force]`: writes a seeded random-weight tiny SD1.x pipeline in diffusers layout.
/// `farm model inspect PATH [--config DIR]`: describes a model folder, checkpoint file or LoRA (<see cref="ModelInspectCommand"/>).
/// `farm model push|list`: the bucket's models (<see cref="ModelBucketCommands"/>).
/// </summary>
internal static class ModelCommand
{
    public static Command Create() =>
        new("model", "model tools: create the tiny test model, inspect a model or LoRA, push to and list the bucket") { InitTiny(), Inspect(), ModelBucketCommands.Push(), ModelBucketCommands.List() };

    private static Command Inspect()
    {
        var pathArgument = new Argument<string>("path") { Description = "a model folder, checkpoint file (.safetensors/.ckpt) or LoRA" };
        var configOption = FarmOptions.Text("--config", "the diffusers config folder for a checkpoint file", "DIR");
        var command = new Command("inspect", "describe a model: family, prediction type, native size, text encoders, SHA-256, tensors") { pathArgument, configOption };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(pathArgument)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"{path} does not exist");
            return ModelInspectCommand.Run(path, parse.GetValue(configOption));
        });
        return command;
    }

    private static Command InitTiny()
    {
        var dirArgument = new Argument<string>("dir") { Description = "the folder to write the tiny model into" };
        var seedOption = FarmOptions.Int("--seed", "the seed of the random weights", TinyModel.DefaultSeed, min: 0);
        var forceOption = FarmOptions.Flag("--force", "overwrite a folder that is not empty");
        var command = new Command("init-tiny", "write a tiny random-weight SD1.x model in diffusers layout (no download)") { dirArgument, seedOption, forceOption };
        command.SetAction(parse =>
        {
            var (dir, seed) = (parse.GetValue(dirArgument)!, parse.GetValue(seedOption));
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !parse.GetValue(forceOption))
                throw new UsageException($"{dir} exists and is not empty; pass --force to overwrite");
            TinyModel.Write(dir, seed);
            Console.WriteLine($"wrote a tiny random-weight SD1.x model (seed {seed}) to {dir}; try: ./farm render --model {dir} --prompt \"a red fox\" --out fox.png");
            return 0;
        });
        return command;
    }
}
