using Microsoft.Extensions.Options;

namespace Farm.Coordinator.Tenancy;

/// <summary>Validates options at start with messages that name each bad setting.</summary>
internal sealed class OptionProblems<T>(Func<T, IEnumerable<string>> problems) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var found = problems(options).ToList();
        return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
    }
}
