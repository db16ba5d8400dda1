using System.Net;
using Farm.Coordinator.Webhooks;
using Xunit;

namespace Farm.Coordinator.Tests.Webhooks;

/// <summary>What a webhook may reach unless <c>Webhooks:AllowPrivateTargets</c>: the public internet only (SSRF).</summary>
public sealed class WebhookTargetTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:10.0.0.1")]
    public void Internal_addresses_are_private(string address) => Assert.True(WebhookTargets.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:4700::1111")]
    public void Public_addresses_are_not(string address) => Assert.False(WebhookTargets.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://localhost:8080/h")]
    [InlineData("http://api.localhost/h")]
    [InlineData("http://127.0.0.1/h")]
    [InlineData("http://[::1]:9000/h")]
    [InlineData("https://192.168.0.10/h")]
    public void A_url_naming_a_private_host_is_refused_unless_allowed(string url)
    {
        Assert.Contains("private", WebhookTargets.Problem(url, new WebhookOptions()));
        Assert.Null(WebhookTargets.Problem(url, new WebhookOptions { AllowPrivateTargets = true }));
    }

    [Fact]
    public void A_url_naming_a_public_host_passes() => Assert.Null(WebhookTargets.Problem("https://hooks.example.com/farm", new WebhookOptions()));
}
