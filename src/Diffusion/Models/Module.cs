using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Models;

/// <summary>
/// A block of a model, as torch.nn.Module: named parameters and named submodules whose dotted paths are the
/// checkpoint keys (<c>down_blocks.0.resnets.1.conv1.weight</c>). Loading is strict: every parameter must be
/// in the checkpoint with its exact shape, and the checkpoint may hold nothing the model does not use.
/// A module owns its weights and disposes them.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Module Module)> children = new();
    private readonly List<Parameter> parameters = new();

    protected T Child<T>(string name, T module) where T : Module
    {
        children.Add((name, module));
        return module;
    }

    /// <summary>A list of submodules keyed by index (<c>resnets.0</c>, <c>resnets.1</c>, …), as nn.ModuleList.</summary>
    protected IReadOnlyList<T> Children<T>(string name, IEnumerable<T> modules) where T : Module
    {
        var list = modules.ToList();
        for (var i = 0; i < list.Count; i++) children.Add(($"{name}.{i}", list[i]));
        return list;
    }

    /// <summary>
    /// <c>h = next</c>, freeing the previous h now rather than with the dispose scope, as PyTorch does when a name is
    /// rebound: a decoder that kept every intermediate of a block alive needed a third more memory than diffusers.
    /// The block's own input belongs to its caller and is never freed here.
    /// </summary>
    protected static Tensor Replace(Tensor previous, Tensor next, Tensor input)
    {
        if (!ReferenceEquals(previous, input)) previous.Dispose();
        return next;
    }

    protected Parameter Param(string name, params long[] shape)
    {
        var parameter = new Parameter(name, shape);
        parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Every parameter with its full dotted key.</summary>
    public IEnumerable<(string Key, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var p in parameters) yield return (prefix + p.Name, p);
        foreach (var (name, child) in children)
            foreach (var entry in child.NamedParameters(prefix + name + "."))
                yield return entry;
    }

    /// <summary>This module (path "") and every submodule with its dotted path (<c>down_blocks.0.attentions.0.proj_in</c>), as named_modules().</summary>
    public IEnumerable<(string Path, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var entry in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return entry;
    }

    /// <summary>Loads every parameter from <paramref name="source"/>, converting to <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    public void Load(IWeightSource source, ScalarType dtype, Device device)
    {
        var named = NamedParameters().ToList();
        var expected = named.Select(n => n.Key).ToHashSet(StringComparer.Ordinal);
        var missing = named.Where(n => !source.Contains(n.Key)).Select(n => $"{n.Key} [{Shapes.Format(n.Parameter.Shape)}]").ToList();
        var unexpected = source.Keys.Where(k => !expected.Contains(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException(
                $"{source.Description}: checkpoint does not fit the model."
                + (missing.Count > 0 ? $" Missing ({missing.Count}): {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", …" : "")}." : "")
                + (unexpected.Count > 0 ? $" Unexpected ({unexpected.Count}): {string.Join(", ", unexpected.Take(10))}{(unexpected.Count > 10 ? ", …" : "")}." : ""));
        foreach (var (key, parameter) in named)
        {
            var shape = source.Shape(key);
            if (!shape.AsSpan().SequenceEqual(parameter.Shape))
                throw new InvalidDataException($"{source.Description}: tensor '{key}' has shape [{Shapes.Format(shape)}], the model expects [{Shapes.Format(parameter.Shape)}]");
            parameter.Assign(source.Load(key, dtype, device));
        }
    }

    /// <summary>Loads a freshly built model from a safetensors file (strictly), disposing the model if that fails.</summary>
    internal static T LoadedFrom<T>(T model, string weightsPath, ScalarType dtype, Device device) where T : Module
    {
        try
        {
            using var weights = Weights.SafetensorsWeights.Open(weightsPath);
            model.Load(weights, dtype, device);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var p in parameters) p.Dispose();
        foreach (var (_, child) in children) child.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A named weight slot of a module with the shape the model expects.</summary>
public sealed class Parameter(string name, long[] shape) : IDisposable
{
    private Tensor? value;

    public string Name { get; } = name;

    public long[] Shape { get; } = shape;

    public Tensor Value => value ?? throw new InvalidOperationException($"parameter '{Name}' is not loaded");

    internal void Assign(Tensor tensor)
    {
        value?.Dispose();
        value = tensor.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        value?.Dispose();
        value = null;
    }

    public static implicit operator Tensor(Parameter p) => p.Value;
}

/// <summary>Where weights come from: a safetensors file, or generated weights for tests and the tiny model.</summary>
public interface IWeightSource
{
    string Description { get; }

    IEnumerable<string> Keys { get; }

    bool Contains(string key);

    long[] Shape(string key);

    /// <summary>A new tensor owned by the caller.</summary>
    Tensor Load(string key, ScalarType dtype, Device device);
}

internal static class Shapes
{
    public static string Format(IEnumerable<long> shape) => string.Join(", ", shape);
}
