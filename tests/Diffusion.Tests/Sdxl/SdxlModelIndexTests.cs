using Farm.Diffusion.Models;

namespace Farm.Diffusion.Tests.Sdxl;

public sealed class SdxlModelIndexTests
{
    [SkippableFact]
    public void The_sdxl_folder_loads_with_both_text_encoders_tokenizers_and_force_zeros()
    {
        var index = SdxlModel.Index();
        Assert.Equal("StableDiffusionXLPipeline", index.PipelineClass);
        Assert.True(index.IsSdxl);
        Assert.True(index.ForceZerosForEmptyPrompt);
        Assert.Equal("CLIPTextModel", index.TextEncoder.ClassName);
        Assert.Equal("CLIPTextModelWithProjection", index.TextEncoder2!.ClassName);
        Assert.EndsWith(Path.Combine("text_encoder_2", "model.safetensors"), index.TextEncoder2.WeightsPath);
        Assert.EndsWith("tokenizer_2", index.Tokenizer2!.Directory);
    }

    [SkippableFact]
    public void The_hash_covers_text_encoder_2_so_a_changed_weight_there_changes_it()
    {
        var source = SdxlModel.Dir;
        var copy = Directory.CreateTempSubdirectory("farm-sdxl-index-");
        try
        {
            // Every component linked in place except text_encoder_2, whose weights get one byte changed.
            foreach (var entry in Directory.EnumerateFileSystemEntries(source))
            {
                var name = Path.GetFileName(entry);
                if (name == "text_encoder_2") continue;
                var target = Path.Combine(copy.FullName, name);
                if (Directory.Exists(entry)) Directory.CreateSymbolicLink(target, entry);
                else File.CreateSymbolicLink(target, entry);
            }
            var te2 = Directory.CreateDirectory(Path.Combine(copy.FullName, "text_encoder_2"));
            File.CreateSymbolicLink(Path.Combine(te2.FullName, "config.json"), Path.Combine(source, "text_encoder_2", "config.json"));
            var bytes = File.ReadAllBytes(Path.Combine(source, "text_encoder_2", "model.safetensors"));
            var before = ModelIndex.Load(source).Hash;
            File.WriteAllBytes(Path.Combine(te2.FullName, "model.safetensors"), bytes);
            Assert.Equal(before, ModelIndex.Load(copy.FullName).Hash);
            bytes[^1] ^= 1;
            File.WriteAllBytes(Path.Combine(te2.FullName, "model.safetensors"), bytes);
            Assert.NotEqual(before, ModelIndex.Load(copy.FullName).Hash);
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void An_sdxl_folder_without_text_encoder_2_names_it_as_a_problem()
    {
        var source = SdxlModel.Dir;
        var copy = Directory.CreateTempSubdirectory("farm-sdxl-index-");
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(source).Where(e => Path.GetFileName(e) != "text_encoder_2"))
            {
                var target = Path.Combine(copy.FullName, Path.GetFileName(entry));
                if (Directory.Exists(entry)) Directory.CreateSymbolicLink(target, entry);
                else File.CreateSymbolicLink(target, entry);
            }
            var error = Assert.Throws<ModelIndexException>(() => ModelIndex.Load(copy.FullName));
            Assert.Contains("text_encoder_2/ folder is missing", error.Problems);
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }
}
