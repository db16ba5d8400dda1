namespace Farm.GpuWorker.Tests;
