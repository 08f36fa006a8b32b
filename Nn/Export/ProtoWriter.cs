using Google.Protobuf;

namespace CudaNn.Export;

/// <summary>
/// Writes protobuf messages field by field with <see cref="CodedOutputStream"/>: each nested message is
/// built into its own buffer first, because the wire format puts a message's length before its bytes.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _out;

    public ProtoWriter() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoWriter Int64(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    public ProtoWriter Int32(int field, int value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt32(value);
        return this;
    }

    public ProtoWriter Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    public ProtoWriter String(int field, string value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteString(value);
        return this;
    }

    public ProtoWriter Bytes(int field, byte[] value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(ByteString.CopyFrom(value));
        return this;
    }

    /// <summary>A nested message (or a repeated one: call once per element).</summary>
    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public byte[] ToArray()
    {
        _out.Flush();
        return _buffer.ToArray();
    }
}
