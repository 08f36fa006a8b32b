namespace CudaNn.Data;

/// <summary>
/// The contents of an unsigned-byte IDX file: its dimensions (outermost first, as in the
/// header) and its data in row-major order, <c>Data.Length</c> = product of <c>Dimensions</c>.
/// </summary>
internal sealed record IdxArray(int[] Dimensions, byte[] Data)
{
    /// <summary>The dimensions joined for messages, e.g. "8000 x 28 x 28".</summary>
    public string ShapeText => string.Join(" x ", Dimensions);
}
