namespace CudaNn.Tests.Nn.Tensors;

public class TensorTests
{
    [Test]
    public void FromArray_ToArray_RoundTrip_WithShapeAndNumel()
    {
        using var t = Tensor.FromArray(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, [2, 3]);
        Assert.That((t.Rank, t.Numel, t.Size(-1), t.DType, t.Device), Is.EqualTo((2, 6L, 3, DType.Float32, Device.Cpu)));
        Assert.That(t.ToArray<float>(), Is.EqualTo(new[] { 1f, 2f, 3f, 4f, 5f, 6f }));
        Assert.That(t.ToString(), Is.EqualTo("Tensor([2, 3], float32, cpu)"));
    }

    [Test]
    public void ViewAndNarrow_ShareStorage()
    {
        using var t = Tensor.FromArray(new[] { 0, 1, 2, 3, 4, 5 }, [3, 2]);
        var rows = t.Narrow(1, 2);
        Assert.That(rows.ToArray<int>(), Is.EqualTo(new[] { 2, 3, 4, 5 }));
        rows.View(4).CopyFrom<int>([9, 8, 7, 6]);
        Assert.That(t.ToArray<int>(), Is.EqualTo(new[] { 0, 1, 9, 8, 7, 6 }), "writes through a view reach the storage");
    }

    [Test]
    public void BadShapesAndTypes_NameWhatIsWrong()
    {
        using var t = Tensor.Zeros([2, 3]);
        Assert.That(Assert.Throws<ArgumentException>(() => t.View(4, 2))!.Message, Does.Contain("[2, 3]").And.Contain("[4, 2]"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => t.Narrow(1, 2))!.Message, Does.Contain("rows [1, 3)"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => t.ToArray<int>())!.Message, Does.Contain("float32").And.Contain("Int32"));
        Assert.That(Assert.Throws<ArgumentException>(() => t.CopyFrom<float>([1f, 2f]))!.Message, Does.Contain("2 values").And.Contain("6 elements"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => t.Item())!.Message, Does.Contain("one element"));
        Assert.That(Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, -1]))!.Message, Does.Contain("negative dimension"));
    }

    [Test]
    public void Zeros_ClearsEveryDType_AndItemReadsOneElement()
    {
        using (var f = Tensor.Zeros([3])) Assert.That(f.ToArray<float>(), Is.All.EqualTo(0f));
        using (var d = Tensor.Zeros([3], DType.Float64)) Assert.That(d.ToArray<double>(), Is.All.EqualTo(0.0));
        using (var i = Tensor.Zeros([3], DType.Int32)) Assert.That(i.ToArray<int>(), Is.All.EqualTo(0));
        using (var b = Tensor.Zeros([3], DType.UInt8)) Assert.That(b.ToArray<byte>(), Is.All.EqualTo((byte)0));
        using var one = Tensor.FromArray(new[] { 2.5 }, []);
        Assert.That(one.Item(), Is.EqualTo(2.5));
    }

    [Test]
    public void SharedViews_KeepTheStorageAlive_UntilTheLastIsDisposed()
    {
        var owner = Tensor.Zeros([4]);
        var view = Tensor.SharedView(owner.Storage, 1, [2]);
        owner.Dispose();
        Assert.That(view.Storage.IsDisposed, Is.False);
        Assert.That(view.ToArray<float>(), Is.EqualTo(new[] { 0f, 0f }));
        view.Dispose();
        Assert.That(view.Storage.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => view.ToArray<float>());
    }

    [Test]
    public void To_CopiesAcrossDevices_AndKeepsRequiresGrad()
    {
        using var t = Tensor.FromArray(new[] { 1.0, 2.0 }, [2]);
        t.RequiresGrad = true;
        using var copy = t.To(Device.Cpu);
        copy.CopyFrom<double>([3.0, 4.0]);
        Assert.That((t.ToArray<double>()[0], copy.RequiresGrad), Is.EqualTo((1.0, true)), "a copy, not a view");
    }
}
