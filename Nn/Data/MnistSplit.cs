namespace CudaNn.Data;

/// <summary>Which half of an MNIST-style data set to load.</summary>
public enum MnistSplit
{
    /// <summary>The training split: files named train-images-idx3-ubyte / train-labels-idx1-ubyte.</summary>
    Train,

    /// <summary>The test split: files named t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte.</summary>
    Test,
}
