namespace CudaNn.Data;

/// <summary>
/// One split of an MNIST-style data set held as bytes: <see cref="Count"/> images of
/// <see cref="Rows"/> x <see cref="Cols"/> pixels (0..255, row-major, image after image) and
/// one class label 0..9 per image. Fashion-MNIST has the same layout and loads the same way.
/// </summary>
public sealed class MnistDataSet
{
    /// <summary>Number of classes; every label is below this.</summary>
    public const int ClassCount = 10;

    /// <summary>Wraps images and labels after checking that they fit together.</summary>
    /// <param name="images">Count * rows * cols pixel bytes.</param>
    /// <param name="labels">Count labels, each 0..9.</param>
    public MnistDataSet(byte[] images, byte[] labels, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if ((long)labels.Length * rows * cols != images.Length)
            throw new ArgumentException(
                $"{labels.Length} labels need {(long)labels.Length * rows * cols} image bytes of {rows} x {cols}, got {images.Length}.", nameof(images));
        int bad = FirstLabelOutOfRange(labels);
        if (bad >= 0)
            throw new ArgumentException($"Label {labels[bad]} at index {bad} is outside 0..{ClassCount - 1}.", nameof(labels));
        Images = images;
        Labels = labels;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>All pixels, image i at [i * ImageSize, (i + 1) * ImageSize).</summary>
    public byte[] Images { get; }

    /// <summary>The class of each image, 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images (and labels).</summary>
    public int Count => Labels.Length;

    /// <summary>Image height in pixels.</summary>
    public int Rows { get; }

    /// <summary>Image width in pixels.</summary>
    public int Cols { get; }

    /// <summary>Pixels per image, Rows * Cols (784 for MNIST).</summary>
    public int ImageSize => Rows * Cols;

    /// <summary>The images file these were read from, for messages; null for a set made in memory.</summary>
    public string? ImagesPath { get; init; }

    /// <summary>The pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Image(int index) => Images.AsSpan(index * ImageSize, ImageSize);

    /// <summary>
    /// Loads a split from <paramref name="directory"/>, which holds the standard MNIST file names
    /// (train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...), raw or .gz; see <see cref="MnistFiles"/>.
    /// </summary>
    public static MnistDataSet Load(string directory, MnistSplit split)
    {
        var (images, labels) = MnistFiles.Find(directory, split);
        return FromFiles(images, labels);
    }

    /// <summary>
    /// Loads the training and the test split of <paramref name="directory"/>. Images of one size in one split and of
    /// another in the other are refused at once, naming both files, since one model cannot take both.
    /// </summary>
    public static (MnistDataSet Train, MnistDataSet Test) LoadSplits(string directory)
    {
        var (trainImages, trainLabels) = MnistFiles.Find(directory, MnistSplit.Train);
        var (testImages, testLabels) = MnistFiles.Find(directory, MnistSplit.Test);
        var train = FromFiles(trainImages, trainLabels);
        var test = FromFiles(testImages, testLabels);
        if (train.Rows != test.Rows || train.Cols != test.Cols)
            throw new IdxFormatException(testImages,
                $"holds {test.Rows}x{test.Cols} images but training images file '{trainImages}' holds {train.Rows}x{train.Cols}; one model cannot take both");
        return (train, test);
    }

    /// <summary>Loads a split of the data set shipped with CudaNn (see <see cref="DefaultData.Locate()"/>).</summary>
    public static MnistDataSet LoadDefault(MnistSplit split) => Load(DefaultData.Locate(), split);

    /// <summary>Loads an images file (3-D IDX) and a labels file (1-D IDX) that belong together.</summary>
    /// <exception cref="IdxFormatException">A file is invalid, or the two do not match.</exception>
    public static MnistDataSet FromFiles(string imagesPath, string labelsPath)
    {
        var images = IdxReader.Read(imagesPath);
        if (images.Dimensions.Length != 3)
            throw new IdxFormatException(imagesPath,
                $"an images file has 3 dimensions (count x rows x cols), this one has {images.Dimensions.Length} ({images.ShapeText})");
        var labels = IdxReader.Read(labelsPath);
        if (labels.Dimensions.Length != 1)
            throw new IdxFormatException(labelsPath,
                $"a labels file has 1 dimension (count), this one has {labels.Dimensions.Length} ({labels.ShapeText})");
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw new IdxFormatException(labelsPath,
                $"holds {labels.Dimensions[0]} labels, but images file '{imagesPath}' holds {images.Dimensions[0]} images");
        int bad = FirstLabelOutOfRange(labels.Data);
        if (bad >= 0)
            throw new IdxFormatException(labelsPath, $"label {labels.Data[bad]} at index {bad} is outside 0..{ClassCount - 1}");
        return new MnistDataSet(images.Data, labels.Data, images.Dimensions[1], images.Dimensions[2]) { ImagesPath = imagesPath };
    }

    static int FirstLabelOutOfRange(byte[] labels) => labels.AsSpan().IndexOfAnyExceptInRange((byte)0, (byte)(ClassCount - 1));
}

/// <summary>Which half of an MNIST-style data set to load.</summary>
public enum MnistSplit
{
    /// <summary>The training split: files named train-images-idx3-ubyte / train-labels-idx1-ubyte.</summary>
    Train,

    /// <summary>The test split: files named t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte.</summary>
    Test,
}
