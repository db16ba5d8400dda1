namespace Farm.Diffusion.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope and disposes them with it,
/// so intermediates of a forward pass are freed at once. Results leave with <see cref="MoveToOuter"/>.
/// Scopes are per thread: never await inside one.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly DisposeScope? outer;
    private readonly List<Tensor> owned = new();
    private bool disposed;

    internal DisposeScope()
    {
        outer = current;
        current = this;
    }

    internal static void Track(Tensor tensor)
    {
        var scope = current;
        if (scope is null) return;
        scope.owned.Add(tensor);
        tensor.Scope = scope;
    }

    /// <summary>Hands the tensor to the enclosing scope (or to no scope: the caller then owns it).</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (tensor.Scope != this) throw new InvalidOperationException("tensor does not belong to this dispose scope");
        Forget(tensor);
        if (outer is not null)
        {
            outer.owned.Add(tensor);
            tensor.Scope = outer;
        }
        return tensor;
    }

    internal void Forget(Tensor tensor)
    {
        var index = owned.LastIndexOf(tensor);
        if (index >= 0) owned.RemoveAt(index);
        tensor.Scope = null;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (current != this) throw new InvalidOperationException("dispose scopes must be disposed innermost first, on the thread that made them");
        current = outer;
        foreach (var tensor in owned)
        {
            tensor.Scope = null;
            tensor.Dispose();
        }
        owned.Clear();
    }
}
