namespace Farm.GpuWorker;
