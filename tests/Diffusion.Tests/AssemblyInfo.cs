// The memory and step-callback tests count live native tensors process-wide; a collection running beside them
// would change the count, so this project's test collections run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
