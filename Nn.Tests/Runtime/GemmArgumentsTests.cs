using CudaNn.Cuda;

namespace CudaNn.Tests.Runtime;

public class GemmArgumentsTests
{
    [TestCase(false, false, 5, 7)]
    [TestCase(true, false, 7, 7)]
    [TestCase(false, true, 5, 4)]
    [TestCase(true, true, 7, 4)]
    public void Validate_AcceptsTightLeadingDimensions(bool transposeA, bool transposeB, int lda, int ldb)
    {
        GemmOp transA = transposeA ? GemmOp.Transpose : GemmOp.None, transB = transposeB ? GemmOp.Transpose : GemmOp.None;
        // m=5, n=4, k=7: A is stored 5×7 (or 7×5 transposed), B 7×4 (or 4×7), C 5×4.
        Assert.That(() => GemmArguments.Validate(transA, transB, 5, 4, 7, lda, ldb, 5), Throws.Nothing);
    }

    [Test]
    public void Validate_LdaBelowRowsOfA_NamesLda()
    {
        Assert.That(() => GemmArguments.Validate(GemmOp.Transpose, GemmOp.None, 5, 4, 7, 5, 7, 5),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("lda").And.Message.Contains("lda=5").And.Message.Contains("7 rows"));
    }

    [Test]
    public void Validate_LdcBelowM_NamesLdc()
    {
        Assert.That(() => GemmArguments.Validate(GemmOp.None, GemmOp.None, 5, 4, 7, 5, 7, 4),
            Throws.ArgumentException.With.Property("ParamName").EqualTo("ldc"));
    }

    [Test]
    public void Validate_NegativeSize_Throws()
    {
        Assert.That(() => GemmArguments.Validate(GemmOp.None, GemmOp.None, -1, 4, 7, 5, 7, 5),
            Throws.ArgumentException.With.Message.Contains("m=-1"));
    }

    [Test]
    public void Validate_ConjugateTransposeIsNotAGemmOp()
    {
        Assert.That(() => GemmArguments.Validate((GemmOp)2, GemmOp.None, 5, 4, 7, 7, 7, 5), Throws.ArgumentException);
    }
}
