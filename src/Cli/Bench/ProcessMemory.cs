using System.Globalization;

namespace Farm.Cli.Bench;

/// <summary>
/// Memory of a process on this machine from <c>/proc/PID/status</c>, and which process listens on a loopback port
/// (<c>/proc/net/tcp</c>, then the socket among each process's open files): how the bench finds Redis and RabbitMQ
/// from the very addresses in its settings, whoever started them.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set (VmHWM) in MiB, or NaN when the process is gone or not readable.</summary>
    public static double PeakMiB(int pid) => StatusField(pid, "VmHWM:");

    public static double ResidentMiB(int pid) => StatusField(pid, "VmRSS:");

    /// <summary>
    /// Starts the peak over (<c>echo 5 &gt; /proc/PID/clear_refs</c>), so VmHWM covers the bench only, not a service's
    /// earlier life; false when the kernel does not allow it (another user's process).
    /// </summary>
    public static bool ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static double StatusField(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return double.NaN;
    }

    /// <summary>The process listening on TCP <paramref name="port"/> (IPv4 or IPv6), or null when none of ours is.</summary>
    public static int? PidListeningOn(int port)
    {
        var inodes = ListeningInodes("/proc/net/tcp", port).Concat(ListeningInodes("/proc/net/tcp6", port)).ToHashSet();
        if (inodes.Count == 0) return null;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal)
                        && inodes.Contains(target["socket:[".Length..^1]))
                        return pid;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's process, or one that just ended.
            }
        }
        return null;
    }

    private static IEnumerable<string> ListeningInodes(string table, int port)
    {
        if (!File.Exists(table)) yield break;
        foreach (var line in File.ReadLines(table).Skip(1))
        {
            // sl local_address rem_address st ... inode: local is HEX_IP:HEX_PORT, st 0A is LISTEN.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || fields[3] != "0A") continue;
            var local = fields[1];
            if (int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port) yield return fields[9];
        }
    }
}
