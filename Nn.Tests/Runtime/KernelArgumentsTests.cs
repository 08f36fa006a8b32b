using System.Runtime.CompilerServices;
using CudaNn.Cuda;

namespace CudaNn.Tests.Runtime;

public class KernelArgumentsTests
{
    [Test]
    public unsafe void Pointers_PointAtEachValueInOrder()
    {
        var args = new KernelArguments().Add(2.5f).Add(new DevicePtr(0xdead_beef_0000)).Add(-7).Add(3.25);

        ReadOnlySpan<nint> pointers = args.Pointers;

        Assert.That(args.Count, Is.EqualTo(4));
        Assert.That(*(float*)pointers[0], Is.EqualTo(2.5f));
        Assert.That(*(ulong*)pointers[1], Is.EqualTo(0xdead_beef_0000UL));
        Assert.That(*(int*)pointers[2], Is.EqualTo(-7));
        Assert.That(*(double*)pointers[3], Is.EqualTo(3.25));
    }

    [Test]
    public void Pointers_AreEightByteAligned()
    {
        var args = new KernelArguments().Add((byte)1).Add(1.0).Add(2).Add(3L);

        foreach (nint pointer in args.Pointers)
            Assert.That((long)pointer % 8, Is.EqualTo(0L));
    }

    [Test]
    public unsafe void Add_BeyondTheInitialBuffer_KeepsEveryValue()
    {
        var args = new KernelArguments();
        for (int i = 0; i < 100; i++)
            args.Add(i * 3);

        ReadOnlySpan<nint> pointers = args.Pointers;

        Assert.That(pointers.Length, Is.EqualTo(100));
        for (int i = 0; i < 100; i++)
            Assert.That(*(int*)pointers[i], Is.EqualTo(i * 3), $"argument {i}");
    }

    [Test]
    public unsafe void Clear_ThenAdd_StartsOver()
    {
        var args = new KernelArguments().Add(1).Add(2);

        args.Clear().Add(42f);

        Assert.That(args.Count, Is.EqualTo(1));
        Assert.That(*(float*)args.Pointers[0], Is.EqualTo(42f));
    }

    [Test]
    public unsafe void Add_StructLargerThanASlot_IsStoredWhole()
    {
        var args = new KernelArguments().Add(new Float3(1, 2, 3)).Add(9);

        ReadOnlySpan<nint> pointers = args.Pointers;

        Assert.That(Unsafe.Read<Float3>((void*)pointers[0]), Is.EqualTo(new Float3(1, 2, 3)));
        Assert.That(*(int*)pointers[1], Is.EqualTo(9));
    }

    private readonly record struct Float3(float X, float Y, float Z);
}
