return await Farm.Cli.CommandLine.RunAsync(args);
