using System.Globalization;

namespace CudaNn.Cuda;

/// <summary>Human-readable byte counts for messages and reports: 2147483648 → "2.0 GiB".</summary>
internal static class ByteSize
{
    /// <summary>Formats with one decimal in the largest binary unit that keeps the value at least 1.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
