namespace Farm.Shared.Tests;
