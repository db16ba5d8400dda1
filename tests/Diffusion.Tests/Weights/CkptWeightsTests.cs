using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Farm.Diffusion.Torch;
using Farm.Diffusion.Weights;
using Farm.Diffusion.Weights.Pickle;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Weights;

/// <summary>
/// The restricted torch-zip reader against the single-file fixtures: the tiny SD1.x <c>.ckpt</c> (written by
/// diffusers' own conversion script), an A1111 embedding <c>.pt</c>, and the two hostile files.
/// </summary>
public class CkptWeightsTests
{
    private static string Checkpoint => Fixtures.PathIn(Fixtures.SingleFile, "checkpoints", "sd-tiny.ckpt");

    [SkippableFact]
    public void The_ckpt_state_dict_has_every_key_of_the_fixture_key_map_with_its_shape()
    {
        using var weights = CkptWeights.Open(Checkpoint);
        var expected = KeyMap().ToDictionary(e => e.Key, e => string.Join(",", e.Shape));
        var actual = weights.Keys.ToDictionary(k => k, k => string.Join(",", weights.Shape(k)));
        Assert.Equal(expected.OrderBy(e => e.Key), actual.OrderBy(e => e.Key));
        Assert.All(weights.Keys, k => Assert.Equal(ScalarType.Float32, weights.StoredType(k)));
    }

    [SkippableFact]
    public void Every_ckpt_tensor_equals_the_folder_model_tensor_it_was_made_from_bit_for_bit()
    {
        using var weights = CkptWeights.Open(Checkpoint);
        var folders = new Dictionary<string, SafetensorsFile>();
        try
        {
            foreach (var entry in KeyMap())
            {
                var (component, key) = (entry.From[..entry.From.IndexOf(':')], entry.From[(entry.From.IndexOf(':') + 1)..]);
                if (!folders.TryGetValue(component, out var file))
                {
                    var name = component == "text_encoder" ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
                    folders[component] = file = SafetensorsFile.Open(Path.Combine(Fixtures.Model(Fixtures.SdTiny), component, name));
                }
                using var expected = SafetensorsWeights.ReadRaw(file, key);
                using var actual = weights.Load(entry.Key, ScalarType.Float32, Device.Cpu);
                // The only non-copy op in this file reshapes VAE attention weights to 1x1 convs; values are unchanged.
                Assert.True(expected.ToArray<float>().AsSpan().SequenceEqual(actual.ToArray<float>()), $"{entry.Key} differs from {entry.From} ({entry.Op})");
            }
        }
        finally
        {
            foreach (var file in folders.Values) file.Dispose();
        }
    }

    [SkippableFact]
    public void A_checkpoint_whose_pickle_calls_os_system_is_refused_naming_the_file_and_the_call_and_nothing_runs()
    {
        var evil = Fixtures.PathIn(Fixtures.SingleFile, "hostile", "evil.ckpt");
        var marker = Path.Combine(Environment.CurrentDirectory, "EVIL_CKPT_EXECUTED.txt");
        var error = Assert.Throws<UnsafeCheckpointException>(() => CkptWeights.Open(evil));
        Assert.Contains(evil, error.Message);
        Assert.Contains("os.system", error.Message);
        Assert.Equal("os.system", error.Forbidden);
        Assert.False(File.Exists(marker), "the payload ran");
    }

    [SkippableFact]
    public void A_truncated_checkpoint_is_refused_naming_the_file_and_saying_it_is_truncated()
    {
        var truncated = Fixtures.PathIn(Fixtures.SingleFile, "hostile", "truncated.ckpt");
        var error = Assert.Throws<InvalidDataException>(() => CkptWeights.Open(truncated));
        Assert.Contains(truncated, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [SkippableFact]
    public void An_a1111_embedding_pt_reads_as_the_same_vectors_as_its_safetensors_twin()
    {
        using var checkpoint = TorchZipCheckpoint.Open(Fixtures.PathIn(Fixtures.Adapters, "files", "emb3.a1111.pt"));
        var root = Assert.IsType<Dictionary<object, object?>>(checkpoint.Root);
        var parameters = Assert.IsType<Dictionary<object, object?>>(root["string_to_param"]);
        using var vectors = checkpoint.ReadTensor(Assert.IsType<TorchTensorRef>(parameters["*"]));
        using var twin = SafetensorsFile.Open(Fixtures.PathIn(Fixtures.Adapters, "files", "emb3.a1111.safetensors"));
        using var expected = SafetensorsWeights.ReadRaw(twin, "emb_params");
        Assert.Equal(expected.shape, vectors.shape);
        Assert.Equal(expected.ToArray<float>(), vectors.ToArray<float>());
        Assert.Equal("emb3", root["name"]);
    }

    [Theory]
    [InlineData("cbuiltins\neval\n", "builtins.eval")]
    [InlineData("csubprocess\ncheck_output\n", "subprocess.check_output")]
    [InlineData("\u008c\u0008builtins\u008c\u0004exec\u0093", "builtins.exec")]
    [InlineData("ctorch._utils\n_rebuild_tensor_v2\ncos\nsystem\n", "os.system")]
    public void A_forbidden_global_is_refused_by_name_before_anything_is_called(string globalOpcodes, string forbidden)
    {
        // {'state_dict': <global>(('x',))}: the call would follow the GLOBAL; the read must stop at the GLOBAL.
        var pickle = Latin1("\u0080\u0002}X\u000a\u0000\u0000\u0000state_dict" + globalOpcodes + "X\u0001\u0000\u0000\u0000x\u0085Rs.");
        var path = WriteTorchZip(pickle);
        try
        {
            var error = Assert.Throws<UnsafeCheckpointException>(() => CkptWeights.Open(path));
            Assert.Equal(forbidden, error.Forbidden);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Instantiating_a_class_with_INST_is_refused()
    {
        var path = WriteTorchZip(Latin1("\u0080\u0002(X\u0002\u0000\u0000\u0000lsios\nsystem\n."));
        try
        {
            var error = Assert.Throws<UnsafeCheckpointException>(() => CkptWeights.Open(path));
            Assert.Contains("os.system", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_zip_is_refused_with_what_it_is()
    {
        var path = Path.GetTempFileName();
        File.WriteAllBytes(path, Latin1("\u0080\u0002}q\u0000."));
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => CkptWeights.Open(path));
            Assert.Contains("legacy format", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private static string WriteTorchZip(byte[] pickle)
    {
        var path = Path.Combine(Path.GetTempPath(), $"farm-pickle-{Guid.NewGuid():N}.ckpt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var stream = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            stream.Write(pickle);
        }
        return path;
    }

    private sealed record KeyMapEntry(string Key, long[] Shape, string From, string Op);

    private static List<KeyMapEntry> KeyMap()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.CaseIn(Fixtures.SingleFile, "checkpoint_sd_tiny_ckpt"), "manifest.json")));
        return manifest.RootElement.GetProperty("key_map").EnumerateArray().Select(e => new KeyMapEntry(
            e.GetProperty("key").GetString()!,
            e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            e.GetProperty("from").GetString()!,
            e.GetProperty("op").GetString()!)).ToList();
    }
}
