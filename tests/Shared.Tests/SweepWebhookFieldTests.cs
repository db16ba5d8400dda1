using Farm.Shared.Sweeps;
using Xunit;

namespace Farm.Shared.Tests;

public sealed class SweepWebhookFieldTests
{
    private const string Base = """ "model":"tiny","prompts":["a"],"seeds":[1]""";

    private static SweepParseResult Parse(string fields) => SweepSpecParser.Parse($"{{{Base}{fields}}}");

    [Fact]
    public void A_webhook_takes_a_url_and_the_events_it_wants_every_event_when_it_names_none()
    {
        Assert.Null(Parse("").Spec!.Webhook);
        var all = Parse(""","webhook":{"url":"https://hooks.example.com/farm"}""");
        Assert.True(all.IsValid, all.Errors.ToString());
        Assert.Equal("https://hooks.example.com/farm", all.Spec!.Webhook!.Url);
        Assert.Equal(["image", "sweep"], all.Spec.Webhook.Events);
        var yaml = SweepSpecParser.Parse("model: tiny\nprompts: [a]\nseeds: [1]\nwebhook: {url: 'http://10.0.0.5:8080/h', events: [sweep]}\n");
        Assert.True(yaml.IsValid, yaml.Errors.ToString());
        Assert.Equal(["sweep"], yaml.Spec!.Webhook!.Events);
        Assert.False(yaml.Spec.Webhook.Wants("image"));
    }

    [Theory]
    [InlineData(""","webhook":{"url":"/relative"}""", "webhook.url", "absolute http or https URL")]
    [InlineData(""","webhook":{"url":"ftp://example.com/h"}""", "webhook.url", "absolute http or https URL")]
    [InlineData(""","webhook":{"url":"https://user:pw@example.com/h"}""", "webhook.url", "user name or password")]
    [InlineData(""","webhook":{"url":7}""", "webhook.url", "must be a string")]
    [InlineData(""","webhook":{"events":["image"]}""", "webhook.url", "is required")]
    [InlineData(""","webhook":{"url":"https://example.com","events":["image","done"]}""", "webhook.events[1]", "unknown event 'done'")]
    [InlineData(""","webhook":{"url":"https://example.com","events":"images"}""", "webhook.events", "unknown event 'images'")]
    [InlineData(""","webhook":{"url":"https://example.com","events":[]}""", "webhook.events", "at least one event")]
    [InlineData(""","webhook":{"url":"https://example.com","retries":3}""", "webhook.retries", "unknown field")]
    [InlineData(""","webhook":"https://example.com" """, "webhook", "must be an object")]
    public void A_bad_webhook_names_its_field(string fields, string field, string message)
    {
        var errors = Parse(fields).Errors.ToDictionary();
        Assert.True(errors.ContainsKey(field), $"no error for {field}: {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"))}");
        Assert.Contains(message, errors[field][0]);
    }
}
