using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Pipelines;

[Collection(PipelineCollection.Name)]
public class MemoryTests(PipelineFixture fixture)
{
    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException("VmRSS not found in /proc/self/status");
    }

    [SkippableFact]
    public void Two_hundred_renders_leave_no_native_tensor_behind_and_resident_memory_flat()
    {
        var request = new RenderRequest { Prompt = "a lighthouse in a storm", Seeds = [1, 2], Steps = 3, GuidanceScale = 7.5, Scheduler = "euler-a" };
        void RenderOnce() => fixture.Pipeline.Render(request);

        for (var i = 0; i < 10; i++) RenderOnce();
        GC.Collect();
        var liveAfterWarmUp = TensorHandle.Live;
        var rssAfterWarmUp = ResidentBytes();

        for (var i = 10; i < 200; i++)
        {
            RenderOnce();
            Assert.Equal(liveAfterWarmUp, TensorHandle.Live);
        }
        GC.Collect();
        var growth = (double)(ResidentBytes() - rssAfterWarmUp) / rssAfterWarmUp;
        Assert.True(growth < 0.05, $"resident memory grew {growth:P1} over 190 renders (limit 5%)");
    }
}
