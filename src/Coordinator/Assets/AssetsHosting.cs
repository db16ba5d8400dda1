using Farm.Coordinator.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Assets;

/// <summary>Uploaded images: options from <c>Assets</c>, validated at start, and the store in the bucket.</summary>
internal static class AssetsHosting
{
    public static IServiceCollection AddFarmAssets(this IServiceCollection services)
    {
        services.AddOptions<AssetOptions>().BindConfiguration(AssetOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AssetOptions>>(new OptionProblems<AssetOptions>(o => o.Validate()));
        services.AddSingleton<AssetStore>();
        return services;
    }
}
