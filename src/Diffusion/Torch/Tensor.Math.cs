using static Farm.Diffusion.Torch.NativeMethods;

namespace Farm.Diffusion.Torch;

// Elementwise math, reductions and operators. Each call is one ATen kernel, as in PyTorch, so the
// float32 rounding matches a Python expression written the same way.
public sealed partial class Tensor
{
    private enum Unary { Neg, Exp, Log, Sqrt, Rsqrt, Sin, Cos, Sigmoid, Silu, Gelu, GeluTanh, Tanh, Abs, Round, Reciprocal, Floor }

    internal enum Binary { Add, Sub, Mul, Div, Pow, Maximum, Minimum }

    private enum Reduction { Sum, Mean, AbsMax, Max, Min }

    private Tensor Apply(Unary op) => Wrap(ft_tensor_unary((int)op, Handle, out var r), r);

    internal Tensor Apply(Binary op, Tensor other) => Wrap(ft_tensor_binary((int)op, Handle, other.Handle, out var r), r);

    private Tensor Apply(Binary op, double scalar, bool scalarFirst = false) =>
        Wrap(ft_tensor_scalar((int)op, Handle, scalar, scalarFirst ? 1 : 0, out var r), r);

    private Tensor ApplyInPlace(Unary op)
    {
        Check(ft_tensor_unary_((int)op, Handle));
        return this;
    }

    private Tensor ApplyInPlace(Binary op, double scalar)
    {
        Check(ft_tensor_scalar_((int)op, Handle, scalar));
        return this;
    }

    private Tensor ApplyInPlace(Binary op, Tensor other)
    {
        Check(ft_tensor_binary_((int)op, Handle, other.Handle));
        return this;
    }

    public Tensor neg() => Apply(Unary.Neg);
    public Tensor exp() => Apply(Unary.Exp);
    public Tensor log() => Apply(Unary.Log);
    public Tensor sqrt() => Apply(Unary.Sqrt);
    public Tensor rsqrt() => Apply(Unary.Rsqrt);
    public Tensor sin() => Apply(Unary.Sin);
    public Tensor cos() => Apply(Unary.Cos);
    public Tensor sigmoid() => Apply(Unary.Sigmoid);
    public Tensor silu() => Apply(Unary.Silu);
    public Tensor silu_() => ApplyInPlace(Unary.Silu);
    /// <summary>Exact (erf) GELU, or the tanh approximation.</summary>
    public Tensor gelu(bool tanhApproximation = false) => Apply(tanhApproximation ? Unary.GeluTanh : Unary.Gelu);
    public Tensor tanh() => Apply(Unary.Tanh);
    public Tensor abs() => Apply(Unary.Abs);
    public Tensor round() => Apply(Unary.Round);
    public Tensor reciprocal() => Apply(Unary.Reciprocal);
    public Tensor floor() => Apply(Unary.Floor);

    public Tensor add(Tensor other) => Apply(Binary.Add, other);
    /// <summary>this + alpha·other in one kernel (torch.add(a, b, alpha=…)).</summary>
    public Tensor add(Tensor other, double alpha) => Wrap(ft_tensor_add_scaled(Handle, other.Handle, alpha, out var r), r);
    public Tensor sub(Tensor other) => Apply(Binary.Sub, other);
    public Tensor mul(Tensor other) => Apply(Binary.Mul, other);
    public Tensor div(Tensor other) => Apply(Binary.Div, other);
    public Tensor pow(Tensor exponent) => Apply(Binary.Pow, exponent);
    public Tensor maximum(Tensor other) => Apply(Binary.Maximum, other);
    public Tensor minimum(Tensor other) => Apply(Binary.Minimum, other);

    public Tensor add(double s) => Apply(Binary.Add, s);
    public Tensor sub(double s) => Apply(Binary.Sub, s);
    public Tensor mul(double s) => Apply(Binary.Mul, s);
    public Tensor div(double s) => Apply(Binary.Div, s);
    public Tensor pow(double exponent) => Apply(Binary.Pow, exponent);
    public Tensor clamp_min(double min) => Apply(Binary.Maximum, min);
    public Tensor clamp_max(double max) => Apply(Binary.Minimum, max);

    public Tensor clamp(double? min, double? max) =>
        Wrap(ft_tensor_clamp(Handle, min ?? double.NaN, max ?? double.NaN, out var r), r);

    public Tensor add_(Tensor other) => ApplyInPlace(Binary.Add, other);
    public Tensor sub_(Tensor other) => ApplyInPlace(Binary.Sub, other);
    public Tensor mul_(Tensor other) => ApplyInPlace(Binary.Mul, other);
    public Tensor div_(Tensor other) => ApplyInPlace(Binary.Div, other);
    public Tensor mul_(double s) => ApplyInPlace(Binary.Mul, s);

    public Tensor ge(double s) => Wrap(ft_tensor_compare_scalar(0, Handle, s, out var r), r);
    public Tensor lt(double s) => Wrap(ft_tensor_compare_scalar(1, Handle, s, out var r), r);
    public Tensor gt(double s) => Wrap(ft_tensor_compare_scalar(2, Handle, s, out var r), r);
    public Tensor le(double s) => Wrap(ft_tensor_compare_scalar(3, Handle, s, out var r), r);

    private Tensor Reduce(Reduction op, long? dimension, bool keepdim) =>
        Wrap(ft_tensor_reduce((int)op, Handle, dimension ?? 0, keepdim ? 1 : 0, dimension is null ? 1 : 0, out var r), r);

    public Tensor sum(long? dimension = null, bool keepdim = false) => Reduce(Reduction.Sum, dimension, keepdim);
    public Tensor mean(long? dimension = null, bool keepdim = false) => Reduce(Reduction.Mean, dimension, keepdim);
    public Tensor max(long? dimension = null, bool keepdim = false) => Reduce(Reduction.Max, dimension, keepdim);
    public Tensor min(long? dimension = null, bool keepdim = false) => Reduce(Reduction.Min, dimension, keepdim);

    /// <summary>max |x| over all elements, as a double (for tests and diagnostics).</summary>
    public double MaxAbs()
    {
        using var m = Reduce(Reduction.AbsMax, null, false);
        return m.item();
    }

    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator -(Tensor a) => a.neg();

    public static Tensor operator +(Tensor a, double s) => a.Apply(Binary.Add, s);
    public static Tensor operator -(Tensor a, double s) => a.Apply(Binary.Sub, s);
    public static Tensor operator *(Tensor a, double s) => a.Apply(Binary.Mul, s);
    public static Tensor operator /(Tensor a, double s) => a.Apply(Binary.Div, s);
    public static Tensor operator +(double s, Tensor a) => a.Apply(Binary.Add, s, scalarFirst: true);
    /// <summary>Python's <c>s - t</c> (rsub).</summary>
    public static Tensor operator -(double s, Tensor a) => a.Apply(Binary.Sub, s, scalarFirst: true);
    public static Tensor operator *(double s, Tensor a) => a.Apply(Binary.Mul, s, scalarFirst: true);
    /// <summary>Python's <c>s / t</c>, which PyTorch computes as <c>t.reciprocal() * s</c>.</summary>
    public static Tensor operator /(double s, Tensor a) => a.Apply(Binary.Div, s, scalarFirst: true);
}
