using CudaNn.Data;

namespace CudaNn.Tests.TestSupport;

/// <summary>The shipped digits cut down to what a test needs.</summary>
public static class Digits
{
    /// <summary>The first <paramref name="count"/> images of <paramref name="data"/> with their labels.</summary>
    public static MnistDataSet FirstImages(this MnistDataSet data, int count) =>
        new(data.Images[..(count * data.ImageSize)], data.Labels[..count], data.Rows, data.Cols);
}
