using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using Farm.Diffusion.Torch;

namespace Farm.Diffusion.Weights.Pickle;

/// <summary>
/// Reads the pickle of a PyTorch checkpoint as data, never as code. It interprets the opcodes of protocols 0–5 that
/// build values (numbers, strings, tuples, lists, dicts, memo), the persistent ids of tensor storages, and calls of a
/// short allowlist: the tensor-rebuild functions, storage classes, <c>collections.OrderedDict</c>,
/// <c>_codecs.encode</c>, and a few inert classes real checkpoints carry beside their weights (kept as
/// <see cref="OpaqueObject"/>, never constructed). Any other global, and the opcodes that instantiate arbitrary
/// classes (INST, OBJ, EXT*), end the read with <see cref="UnsafeCheckpointException"/> naming it. This is the
/// rule of <c>torch.load(weights_only=True)</c>, not of plain <c>torch.load</c>, which would run the payload.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["torch.FloatStorage"] = ScalarType.Float32,
        ["torch.HalfStorage"] = ScalarType.Float16,
        ["torch.BFloat16Storage"] = ScalarType.BFloat16,
        ["torch.DoubleStorage"] = ScalarType.Float64,
        ["torch.LongStorage"] = ScalarType.Int64,
        ["torch.IntStorage"] = ScalarType.Int32,
        ["torch.ByteStorage"] = ScalarType.UInt8,
        ["torch.BoolStorage"] = ScalarType.Bool,
    };

    private static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._tensor._rebuild_from_type_v2",
        "torch.Tensor",
        "torch.nn.parameter.Parameter",
        "_codecs.encode",
        "builtins.set", "__builtin__.set",
    };

    // Inert companions of weights in real checkpoints (global_step as a numpy scalar, Lightning callback state).
    private static readonly HashSet<string> OpaqueClasses = new(StringComparer.Ordinal)
    {
        "numpy.core.multiarray.scalar",
        "numpy.core.multiarray._reconstruct",
        "numpy.dtype",
        "numpy.ndarray",
        "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    };

    private static readonly object Mark = new();

    private readonly string path;
    private readonly byte[] data;
    private readonly List<object?> stack = new();
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object?> memo = new();
    private int position;

    private RestrictedUnpickler(string path, byte[] data)
    {
        this.path = path;
        this.data = data;
    }

    /// <summary>Unpickles <paramref name="pickle"/>; <paramref name="path"/> names the file in every error.</summary>
    public static object? Load(string path, byte[] pickle) => new RestrictedUnpickler(path, pickle).Run();

    private object? Run()
    {
        while (true)
        {
            var opcode = ReadByte();
            switch (opcode)
            {
                case 0x80: ReadByte(); break; // PROTO
                case 0x95: Take(8); break; // FRAME: its length only helps streaming readers
                case (byte)'.': return Pop(); // STOP
                case (byte)'(': marks.Push(stack.Count); stack.Add(Mark); break;
                case (byte)'0': Pop(); break;
                case (byte)'1': PopMark(); break;
                case (byte)'2': stack.Add(Peek()); break;

                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)ReadByte()); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add(ReadLong(ReadByte())); break;
                case 0x8b: stack.Add(ReadLong(ReadLength(4))); break;
                case (byte)'I': stack.Add(ParseTextInt(ReadLine())); break;
                case (byte)'L': stack.Add(ParseTextInt(ReadLine().TrimEnd('L'))); break;
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'F': stack.Add(double.Parse(ReadLine(), CultureInfo.InvariantCulture)); break;

                case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(ReadLength(4)))); break;
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(ReadByte()))); break;
                case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(ReadLength(8)))); break;
                case (byte)'T': stack.Add(Encoding.Latin1.GetString(Take(ReadLength(4)))); break;
                case (byte)'U': stack.Add(Encoding.Latin1.GetString(Take(ReadByte()))); break;
                case (byte)'B': stack.Add(Take(ReadLength(4)).ToArray()); break;
                case (byte)'C': stack.Add(Take(ReadByte()).ToArray()); break;
                case 0x8e or 0x96: stack.Add(Take(ReadLength(8)).ToArray()); break;

                case (byte)'}': stack.Add(new Dictionary<object, object?>()); break;
                case (byte)'d': stack.Add(ToDict(PopMark())); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'l': stack.Add(PopMark().ToList()); break;
                case 0x8f: stack.Add(new List<object?>()); break; // EMPTY_SET, kept as a list
                case 0x91: stack.Add(PopMark().ToList()); break; // FROZENSET
                case (byte)')': stack.Add(new PickleTuple([])); break;
                case (byte)'t': stack.Add(new PickleTuple(PopMark())); break;
                case 0x85: stack.Add(new PickleTuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new PickleTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new PickleTuple([a, b, c])); break; }
                case (byte)'a': { var item = Pop(); AsList(Peek()).Add(item); break; }
                case (byte)'e' or 0x90: { var items = PopMark(); AsList(Peek()).AddRange(items); break; }
                case (byte)'s': { var value = Pop(); var key = Pop(); Set(Peek(), key, value); break; }
                case (byte)'u':
                {
                    var items = PopMark();
                    if (items.Length % 2 != 0) throw Corrupt("SETITEMS with an odd number of items");
                    var target = Peek();
                    for (var i = 0; i < items.Length; i += 2) Set(target, items[i], items[i + 1]);
                    break;
                }

                case (byte)'p': memo[ParseTextInt(ReadLine())] = Peek(); break;
                case (byte)'q': memo[ReadByte()] = Peek(); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Peek(); break;
                case 0x94: memo[memo.Count] = Peek(); break;
                case (byte)'g': stack.Add(Recall(ParseTextInt(ReadLine()))); break;
                case (byte)'h': stack.Add(Recall(ReadByte())); break;
                case (byte)'j': stack.Add(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;

                case (byte)'c': stack.Add(Resolve(ReadLine(), ReadLine())); break;
                case 0x93:
                {
                    var name = Pop() as string ?? throw Corrupt("STACK_GLOBAL without a name string");
                    var module = Pop() as string ?? throw Corrupt("STACK_GLOBAL without a module string");
                    stack.Add(Resolve(module, name));
                    break;
                }
                case (byte)'R': { var args = Pop(); var callable = Pop(); stack.Add(Call(callable, args)); break; }
                case 0x81: { var args = Pop(); var cls = Pop(); stack.Add(Instantiate(cls, args)); break; } // NEWOBJ
                case 0x92: { Pop(); var args = Pop(); var cls = Pop(); stack.Add(Instantiate(cls, args)); break; } // NEWOBJ_EX
                case (byte)'b':
                {
                    var state = Pop();
                    if (Peek() is OpaqueObject opaque) opaque.State = state;
                    else if (Peek() is not TorchTensorRef) throw new UnsafeCheckpointException(path, $"BUILD on {Describe(Peek())}");
                    break;
                }
                case (byte)'Q': stack.Add(PersistentLoad(Pop())); break;
                case (byte)'P': throw new UnsafeCheckpointException(path, "a text persistent id (PERSID)");
                case (byte)'i': throw new UnsafeCheckpointException(path, $"{ReadLine()}.{ReadLine()} (INST)");
                case (byte)'o': throw new UnsafeCheckpointException(path, "an object constructor (OBJ)");
                case 0x82 or 0x83 or 0x84: throw new UnsafeCheckpointException(path, "a registered extension (EXT)");
                default: throw Corrupt($"unknown pickle opcode 0x{opcode:x2} at byte {position - 1}");
            }
        }
    }

    private PickleGlobal Resolve(string module, string name)
    {
        var global = new PickleGlobal(module, name);
        var full = global.FullName;
        if (StorageTypes.ContainsKey(full) || Functions.Contains(full) || OpaqueClasses.Contains(full)) return global;
        throw new UnsafeCheckpointException(path, full);
    }

    private object? Call(object? callable, object? args)
    {
        if (callable is not PickleGlobal global) throw Corrupt($"REDUCE on {Describe(callable)}");
        var a = (args as PickleTuple ?? throw Corrupt($"{global.FullName} called without an argument tuple")).Items;
        switch (global.FullName)
        {
            case "collections.OrderedDict":
                return a.Length == 0 ? new Dictionary<object, object?>() : throw Corrupt("OrderedDict with arguments");
            case "torch._utils._rebuild_tensor" or "torch._utils._rebuild_tensor_v2":
                if (a.Length < 4) throw Corrupt($"{global.FullName} with {a.Length} arguments");
                return Tensor(a[0], a[1], a[2], a[3]);
            case "torch._utils._rebuild_parameter" or "torch._utils._rebuild_parameter_with_state":
                return a.Length >= 1 && a[0] is TorchTensorRef data ? data : throw Corrupt($"{global.FullName} without a tensor");
            case "torch._tensor._rebuild_from_type_v2":
                // (func, new_type, args, state): func must itself be an allowed rebuild, new_type Tensor or Parameter.
                if (a.Length < 3 || a[1] is not PickleGlobal { FullName: "torch.Tensor" or "torch.nn.parameter.Parameter" })
                    throw new UnsafeCheckpointException(path, $"_rebuild_from_type_v2 of {(a.Length > 1 ? Describe(a[1]) : "nothing")}");
                return Call(a[0], a[2]);
            case "_codecs.encode":
                return a.Length >= 1 && a[0] is string text ? Encoding.Latin1.GetBytes(text) : throw Corrupt("_codecs.encode without a string");
            case "builtins.set" or "__builtin__.set":
                return a.Length == 0 ? new List<object?>() : AsList(a[0]).ToList();
        }
        if (OpaqueClasses.Contains(global.FullName)) return new OpaqueObject(global.FullName, args);
        throw new UnsafeCheckpointException(path, global.FullName);
    }

    private OpaqueObject Instantiate(object? cls, object? args) =>
        cls is PickleGlobal global && OpaqueClasses.Contains(global.FullName)
            ? new OpaqueObject(global.FullName, args)
            : throw new UnsafeCheckpointException(path, $"{Describe(cls)} (NEWOBJ)");

    /// <summary><c>('storage', torch.FloatStorage, '0', 'cpu', numel)</c> → the storage it names.</summary>
    private TorchStorageRef PersistentLoad(object? pid)
    {
        if (pid is not PickleTuple { Items: ["storage", PickleGlobal type, var key, _, long count] })
            throw Corrupt($"unsupported persistent id {Describe(pid)}");
        if (!StorageTypes.TryGetValue(type.FullName, out var scalar)) throw Corrupt($"unsupported storage type {type.FullName}");
        if (count < 0) throw Corrupt("negative storage size");
        return new TorchStorageRef(scalar, key?.ToString() ?? throw Corrupt("storage without a key"), count);
    }

    private TorchTensorRef Tensor(object? storage, object? offset, object? size, object? stride)
    {
        if (storage is not TorchStorageRef s || offset is not long o) throw Corrupt("tensor rebuild without a storage and offset");
        var dims = Longs(size, "size");
        var strides = Longs(stride, "stride");
        if (dims.Length != strides.Length) throw Corrupt("tensor size and stride differ in length");
        if (o < 0 || dims.Any(d => d < 0) || strides.Any(d => d < 0)) throw Corrupt("negative tensor offset, size or stride");
        long last = o;
        var empty = dims.Any(d => d == 0);
        for (var d = 0; d < dims.Length && !empty; d++) last = checked(last + (dims[d] - 1) * strides[d]);
        if (!empty && last >= s.ElementCount)
            throw Corrupt($"a tensor reaches element {last} of a storage of {s.ElementCount}");
        return new TorchTensorRef(s, o, dims, strides);
    }

    private long[] Longs(object? value, string what) => value is PickleTuple t && t.Items.All(i => i is long)
        ? t.Items.Select(i => (long)i!).ToArray()
        : throw Corrupt($"tensor {what} is not a tuple of integers");

    private static void Set(object? target, object? key, object? value)
    {
        if (target is not Dictionary<object, object?> dict) throw new InvalidDataException($"SETITEM on {Describe(target)}");
        dict[key ?? throw new InvalidDataException("a dictionary key is None")] = value;
    }

    private List<object?> AsList(object? value) => value as List<object?> ?? throw Corrupt($"APPEND on {Describe(value)}");

    private Dictionary<object, object?> ToDict(object?[] items)
    {
        var dict = new Dictionary<object, object?>();
        for (var i = 0; i + 1 < items.Length; i += 2) Set(dict, items[i], items[i + 1]);
        return dict;
    }

    private object? Recall(long index) => memo.TryGetValue(index, out var value) ? value : throw Corrupt($"memo entry {index} is missing");

    private object? Pop()
    {
        if (stack.Count == 0 || stack[^1] == Mark) throw Corrupt("stack underflow");
        var value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek() => stack.Count > 0 && stack[^1] != Mark ? stack[^1] : throw Corrupt("stack underflow");

    private object?[] PopMark()
    {
        if (marks.Count == 0) throw Corrupt("no MARK on the stack");
        var start = marks.Pop();
        var items = stack.GetRange(start + 1, stack.Count - start - 1).ToArray();
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private byte ReadByte() => position < data.Length ? data[position++] : throw Truncated();

    private ReadOnlySpan<byte> Take(long count)
    {
        if (count < 0 || count > data.Length - position) throw Truncated();
        var span = data.AsSpan(position, (int)count);
        position += (int)count;
        return span;
    }

    private long ReadLength(int bytes) => bytes == 4
        ? BinaryPrimitives.ReadUInt32LittleEndian(Take(4))
        : (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), long.MaxValue);

    private long ReadLong(long length)
    {
        var bytes = Take(length);
        if (length > 8) throw Corrupt("an integer longer than 64 bits");
        return (long)new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(data, (byte)'\n', position);
        if (end < 0) throw Truncated();
        var line = Encoding.Latin1.GetString(data, position, end - position);
        position = end + 1;
        return line;
    }

    private long ParseTextInt(string text) => text switch
    {
        "00" => 0,
        "01" => 1,
        _ => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Corrupt($"bad integer '{text}'"),
    };

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleGlobal g => g.FullName,
        string s => $"'{s}'",
        _ => value.GetType().Name,
    };

    private InvalidDataException Corrupt(string what) => new($"{path}: the checkpoint's pickle is malformed ({what})");

    private InvalidDataException Truncated() => new($"{path}: the checkpoint's pickle ends early: the file is truncated or corrupt; download it again");
}
