using System.Buffers.Binary;
using System.IO.Compression;

namespace CudaNn.Data;

/// <summary>
/// Reads IDX files, the format of MNIST: bytes 00 00, an element type byte, a dimension count,
/// then one big-endian int32 per dimension and the data. Plain files and gzip-compressed files
/// are both accepted; gzip is recognised by its magic bytes 1F 8B, not by the file name.
/// Only unsigned byte data (type 0x08) is supported.
/// </summary>
internal static class IdxReader
{
    /// <summary>The element type byte for unsigned bytes, the type of every MNIST file.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>More dimensions than this are rejected; MNIST uses 1 (labels) and 3 (images).</summary>
    public const int MaxDimensions = 8;

    /// <summary>
    /// The most data bytes an IDX file may declare: 1 GiB, twenty times MNIST's 60,000 training digits (47 MB) and more
    /// than EMNIST's largest split. The header is checked before anything is read or inflated, so a small gzip file
    /// claiming gigabytes of zeros is refused without decompressing it.
    /// </summary>
    public const long MaxDataBytes = 1L << 30;

    // Deflate cannot expand input by more than about 1032:1, so a gzip file's size bounds
    // what it may claim to hold before a single data byte is read.
    const long MaxGzipExpansion = 1032;
    const int InitialGzipBuffer = 1 << 20;

    /// <summary>Reads the IDX file at <paramref name="path"/>, raw or gzip-compressed.</summary>
    /// <exception cref="IdxFormatException">The file is not a valid unsigned-byte IDX file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(file, path);
    }

    /// <summary>
    /// Reads an IDX file, raw or gzip-compressed, from a seekable <paramref name="stream"/> positioned at its start
    /// and ending where the file ends; <paramref name="name"/> names it in error messages.
    /// </summary>
    /// <exception cref="IdxFormatException">The bytes are not a valid unsigned-byte IDX file.</exception>
    public static IdxArray Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!stream.CanSeek) throw new ArgumentException("IdxReader needs a seekable stream", nameof(stream));
        long start = stream.Position;
        Span<byte> signature = stackalloc byte[2];
        int got = stream.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        stream.Position = start;
        if (got == 2 && signature[0] == 0x1F && signature[1] == 0x8B)
            return ReadGzip(name, stream);

        var (dims, dataLength, headerLength) = ReadHeader(name, stream);
        long actual = stream.Length - start - headerLength;
        if (actual < dataLength)
            throw Truncated(name, dims, dataLength, actual);
        if (actual > dataLength)
            throw new IdxFormatException(name,
                $"{actual - dataLength} trailing bytes after the {dataLength} data bytes that its header declares ({Shape(dims)})");
        var data = new byte[dataLength];
        stream.ReadExactly(data);
        return new IdxArray(dims, data);
    }

    static IdxArray ReadGzip(string path, Stream file)
    {
        long limit = Math.Min(Array.MaxLength, file.Length * MaxGzipExpansion);
        try
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            var (dims, dataLength, headerLength) = ReadHeader(path, gzip);
            if (dataLength > limit)
                throw new IdxFormatException(path,
                    $"header declares {Declared(dims, dataLength)} data bytes, but a {file.Length}-byte gzip file can hold at most {limit}");

            // Grow while reading rather than trusting the header with one large allocation.
            var data = new byte[(int)Math.Min(dataLength, InitialGzipBuffer)];
            int filled = 0;
            while (filled < dataLength)
            {
                if (filled == data.Length)
                    Array.Resize(ref data, (int)Math.Min(dataLength, 2L * data.Length));
                int n = gzip.Read(data, filled, data.Length - filled);
                if (n == 0)
                    throw Truncated(path, dims, dataLength, filled);
                filled += n;
            }
            if (gzip.ReadByte() >= 0)
                throw new IdxFormatException(path,
                    $"decompressed data continues past the {dataLength} data bytes that its header declares ({Shape(dims)})");
            CheckGzipTrailer(path, file, headerLength + dataLength);
            return new IdxArray(dims, data);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(path,
                $"corrupt gzip stream: bad compressed data or a failed CRC-32/length check (the decompressor said: {e.Message})", e);
        }
    }

    /// <summary>
    /// The decompressor stops quietly at a cut-off trailer once all data is out, so the length
    /// field that closes every gzip file (uncompressed size mod 2^32) is compared here.
    /// </summary>
    static void CheckGzipTrailer(string path, Stream file, long uncompressedLength)
    {
        Span<byte> isize = stackalloc byte[4];
        file.Position = file.Length - isize.Length;
        file.ReadExactly(isize);
        uint stated = BinaryPrimitives.ReadUInt32LittleEndian(isize);
        if (stated != (uint)uncompressedLength)
            throw new IdxFormatException(path,
                $"gzip stream is truncated: its last 4 bytes should hold the uncompressed length {(uint)uncompressedLength} but hold {stated} " +
                "(the trailer is missing or cut; concatenated gzip members are not supported)");
    }

    /// <summary>Parses magic, type and dimensions; returns the dimensions, the data length they imply and the header length.</summary>
    static (int[] Dims, long DataLength, int HeaderLength) ReadHeader(string path, Stream stream)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new IdxFormatException(path, $"truncated: only {got} bytes, shorter than the 4-byte IDX magic number");
        if (magic[0] != 0 || magic[1] != 0)
            throw new IdxFormatException(path,
                $"wrong magic number {Convert.ToHexString(magic)}: an IDX file starts with 00 00, the type byte and the dimension count (MNIST images: 00000803, labels: 00000801)");
        if (magic[2] != UnsignedByteType)
            throw new IdxFormatException(path,
                $"element type 0x{magic[2]:X2} ({TypeName(magic[2])}) is not supported; only unsigned byte (0x08) IDX files can be read");
        int rank = magic[3];
        if (rank == 0 || rank > MaxDimensions)
            throw new IdxFormatException(path, $"declares {rank} dimensions; expected 1 to {MaxDimensions}");

        Span<byte> raw = stackalloc byte[4 * rank];
        got = stream.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        if (got < raw.Length)
            throw new IdxFormatException(path, $"truncated in the header: {rank} dimensions need {raw.Length} bytes after the magic number, found {got}");

        var dims = new int[rank];
        long length = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(raw[(4 * i)..]);
            if (d == 0 || d > int.MaxValue)
                throw new IdxFormatException(path, $"dimension {i} of {rank} is {d}; every dimension must be between 1 and {int.MaxValue}");
            dims[i] = (int)d;
            // Checked against the limit at every step, so the product cannot overflow a long.
            length *= d;
            if (length > MaxDataBytes)
                throw new IdxFormatException(path, $"dimensions {Shape(dims[..(i + 1)])} declare {length:N0} data bytes, more than the {MaxDataBytes:N0} an IDX file may hold");
        }
        return (dims, length, 4 + raw.Length);
    }

    static IdxFormatException Truncated(string path, int[] dims, long expected, long actual) =>
        new(path, $"truncated: its header declares {Declared(dims, expected)} data bytes, but only {actual} follow the header");

    static string Shape(int[] dims) => string.Join(" x ", dims);

    static string Declared(int[] dims, long length) => dims.Length == 1 ? $"{length}" : $"{Shape(dims)} = {length}";

    static string TypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type",
    };
}

/// <summary>
/// The contents of an unsigned-byte IDX file: its dimensions (outermost first, as in the
/// header) and its data in row-major order, <c>Data.Length</c> = product of <c>Dimensions</c>.
/// </summary>
internal sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    /// <summary>The dimensions joined for messages, e.g. "8000 x 28 x 28".</summary>
    public string ShapeText => string.Join(" x ", Dimensions);
}

/// <summary>
/// Thrown when a file is not a valid IDX file (the MNIST format) or its contents do not fit
/// together: wrong magic number, unsupported element type, bad dimensions, truncated or
/// trailing data, a corrupt gzip stream, image/label count mismatch, labels out of range.
/// The message always names the file and what is wrong with it.
/// </summary>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> with a description of the <paramref name="problem"/>.</summary>
    public IdxFormatException(string filePath, string problem, Exception? innerException = null)
        : base($"IDX file '{filePath}': {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with the file, without the file name.</summary>
    public string Problem { get; }
}
