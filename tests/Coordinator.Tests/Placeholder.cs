namespace Farm.Coordinator.Tests;
