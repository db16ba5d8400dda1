using Farm.Diffusion.Tests.Golden;
using Farm.Diffusion.Tests.Pipelines;
using Farm.Diffusion.Torch;
using Farm.Testing;

namespace Farm.Diffusion.Tests.Sdxl;

/// <summary>
/// StableDiffusionXLImg2ImgPipeline against diffusers, every random draw included (posterior sample, add_noise noise,
/// Euler's per-step draw). Size ids are the init image's size. Tolerances as for txt2img (fixture README).
/// </summary>
[Collection(SdxlPipelineCollection.Name)]
public sealed class SdxlImg2ImgGoldenTests(SdxlPipelineFixture fixture)
{
    private const string CaseId = "img2img_euler_str0.6_s10_neg";

    [SkippableFact]
    public void Img2img_reproduces_diffusers_step_by_step_and_pixel_for_pixel()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, CaseId);
        var request = SdxlRenderCase.Request(golden);
        GoldenRender.AssertMatches(fixture.Pipeline, request, golden, initialTolerance: 1e-4);
    }

    [SkippableFact]
    public void The_init_png_is_the_recorded_init_image_and_its_size_conditions_the_unet()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, CaseId);
        var request = SdxlRenderCase.Request(golden);
        using var expectedPixels = golden.Tensor("init_image_uint8");
        Assert.Equal(expectedPixels.ToArray<byte>(), request.InitImage!.Pixels);
        using var scope = torch.NewDisposeScope();
        var conditioning = fixture.Pipeline.EncodePrompts(SdxlRenderCase.Inputs(request with { Width = request.InitImage.Width, Height = request.InitImage.Height }));
        Close.Assert(golden.Tensor("prompt_embeds"), conditioning.EncoderHiddenStates, 1e-5, "prompt_embeds");
        Close.Assert(golden.Tensor("add_text_embeds"), conditioning.Added!.TextEmbeds, 1e-5, "add_text_embeds");
        Close.Assert(golden.Tensor("add_time_ids"), conditioning.Added.TimeIds, 0, "add_time_ids");
    }

    [SkippableFact]
    public void A_mask_is_refused_for_sdxl_with_the_field_named()
    {
        using var golden = GoldenCase.Open(Fixtures.SdxlTiny, CaseId);
        var request = SdxlRenderCase.Request(golden);
        var error = Assert.Throws<ArgumentException>(() => fixture.Pipeline.Render(request with { Mask = request.InitImage }));
        Assert.StartsWith("mask:", error.Message);
    }
}
