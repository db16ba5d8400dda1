using Farm.Diffusion.Imaging;
using Farm.Diffusion.Weights;
using Farm.Testing;
using Xunit;

namespace Farm.Diffusion.Tests.Imaging;

public sealed class PngFixtureTests
{
    public static IEnumerable<object[]> FixturePngs()
    {
        if (Fixtures.Root is null)
        {
            yield return ["(fixtures absent)", ""];
            yield break;
        }
        foreach (var dir in Directory.GetDirectories(Path.Combine(Fixtures.Root, "cases")).Order())
        {
            foreach (var png in Directory.GetFiles(dir, "*.png").Order())
                yield return [Path.GetFileName(dir), Path.GetFileName(png)];
        }
    }

    [SkippableTheory]
    [MemberData(nameof(FixturePngs))]
    public void Fixture_pngs_decode_to_exactly_the_stored_uint8_tensors(string caseId, string pngName)
    {
        var caseDir = Fixtures.Case(caseId);
        var image = PngDecoder.Load(Path.Combine(caseDir, pngName)).Image;
        using var tensors = SafetensorsFile.Open(Path.Combine(caseDir, "tensors.safetensors"));

        byte[] expected;
        int channels;
        if (pngName.StartsWith("image_batch_", StringComparison.Ordinal))
        {
            // The batch stores float images; the PNG is (x * 255).round() like diffusers' numpy_to_pil.
            var index = int.Parse(pngName["image_batch_".Length..^4]);
            var info = tensors["image_batch"];
            var perImage = (int)(info.ElementCount / info.Shape[0]);
            expected = tensors.ReadFloat32("image_batch").AsSpan(index * perImage, perImage).ToArray()
                .Select(v => (byte)MathF.Round(v * 255f)).ToArray();
            channels = (int)info.Shape[^1];
        }
        else
        {
            var name = pngName switch
            {
                "init_image.png" => "init_image_uint8",
                "mask.png" => "mask_uint8",
                _ => "image_uint8",
            };
            var info = tensors[name];
            expected = tensors.ReadUInt8(name);
            channels = name == "mask_uint8" ? 1 : (int)info.Shape[^1];
        }

        Assert.Equal(channels, image.Channels);
        Assert.Equal(expected.Length, image.Pixels.Length);
        Assert.True(expected.AsSpan().SequenceEqual(image.Pixels), $"{caseId}/{pngName}: pixels differ from the tensor");
    }
}
