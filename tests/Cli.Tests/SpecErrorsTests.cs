using System.Text.Json;
using Farm.Cli.Commands;

namespace Farm.Cli.Tests;

public class SpecErrorsTests
{
    [Fact]
    public void A_rejected_spec_prints_one_field_colon_message_line_per_error_in_the_coordinators_order()
    {
        var problem = JsonDocument.Parse("""
            {"title":"The sweep spec is invalid","errors":{"prompts[0]":["must not be empty"],"scheduler":["unknown scheduler 'foo'"],"width":["must be a multiple of 8 (got 60)","x"]}}
            """).RootElement;
        var lines = SpecErrors.Describe(problem).Split(Environment.NewLine);
        Assert.Equal(["the coordinator rejected the spec (4 errors):", "prompts[0]: must not be empty", "scheduler: unknown scheduler 'foo'",
            "width: must be a multiple of 8 (got 60)", "width: x"], lines);
    }
}
