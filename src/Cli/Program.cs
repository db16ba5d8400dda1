// Placeholder until the CLI lands: `./farm demo` must already run end to end.
if (args is ["demo", ..])
{
    Console.WriteLine("farm: demo not implemented yet");
    return 0;
}
Console.Error.WriteLine($"farm: unknown command '{string.Join(' ', args)}' (the CLI is not written yet)");
return 2;
