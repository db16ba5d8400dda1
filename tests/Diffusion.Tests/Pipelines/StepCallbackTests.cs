using Farm.Diffusion.Pipelines;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Tests.Pipelines;

[Collection(PipelineCollection.Name)]
public class StepCallbackTests(PipelineFixture fixture)
{
    private static RenderRequest Request => new() { Prompt = "a quiet harbour", Seeds = [3], Steps = 6, Scheduler = "ddim" };

    [SkippableFact]
    public void The_callback_sees_every_step_in_order_with_the_total()
    {
        var seen = new List<StepProgress>();
        fixture.Pipeline.Render(Request, p =>
        {
            seen.Add(p);
            return true;
        });
        Assert.Equal([1, 2, 3, 4, 5, 6], seen.Select(p => p.Step));
        Assert.All(seen, p => Assert.Equal(6, p.TotalSteps));
        Assert.True(seen.Zip(seen.Skip(1)).All(pair => pair.First.Elapsed <= pair.Second.Elapsed));
    }

    [SkippableFact]
    public void Returning_false_from_the_callback_stops_the_render_cleanly()
    {
        var live = TensorHandle.Live;
        var steps = 0;
        Assert.Throws<OperationCanceledException>(() => fixture.Pipeline.Render(Request, p => ++steps < 2));
        Assert.Equal(2, steps);
        Assert.Equal(live, TensorHandle.Live);
    }

    [SkippableFact]
    public void A_cancelled_token_stops_the_render_before_the_next_step()
    {
        using var cancellation = new CancellationTokenSource();
        var steps = 0;
        Assert.Throws<OperationCanceledException>(() => fixture.Pipeline.Render(Request, p =>
        {
            if (++steps == 3) cancellation.Cancel();
            return true;
        }, cancellation.Token));
        Assert.Equal(3, steps);
    }
}
