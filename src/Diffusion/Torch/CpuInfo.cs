namespace Farm.Diffusion.Torch;

/// <summary>The running CPU as <c>/proc/cpuinfo</c> describes its first processor: what tuning choices are keyed on.</summary>
internal sealed record CpuInfo(string ModelName, string Family, string Model, IReadOnlySet<string> Flags)
{
    internal static CpuInfo Current { get; } = Read("/proc/cpuinfo");

    /// <summary>Names the CPU kind in file names: model name, family, model and a hash of the feature flags.</summary>
    internal string Identity
    {
        get
        {
            var name = new string(ModelName.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray()).Trim('-');
            var flags = string.Join(' ', Flags.Order(StringComparer.Ordinal));
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(flags)))[..8];
            return $"{name}-f{Family}m{Model}-{hash}";
        }
    }

    internal bool Has(string flag) => Flags.Contains(flag);

    internal static CpuInfo Read(string path)
    {
        string model = "unknown", family = "0", number = "0";
        var flags = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return new CpuInfo(model, family, number, flags);
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0) break;  // the first processor's block ends here
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim())
            {
                case "model name": model = value; break;
                case "cpu family": family = value; break;
                case "model": number = value; break;
                case "flags": flags.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
            }
        }
        return new CpuInfo(model, family, number, flags);
    }
}
