using System.Runtime.InteropServices;
using CudaNn.Cuda.Interop;
using CudaNn.Distributed;

namespace CudaNn.Tests.Nn.Distributed;

/// <summary>How a rank learns its place from Open MPI's launcher, and how another MPI's launcher or library is refused.</summary>
public class MpiLaunchTests
{
    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Test]
    public void OpenMpisVariables_GiveTheRankItsPlace()
    {
        var launch = MpiLaunch.Detect(Environment(("OMPI_COMM_WORLD_SIZE", "8"), ("OMPI_COMM_WORLD_RANK", "5"),
            ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("OMPI_COMM_WORLD_LOCAL_SIZE", "4")));
        Assert.That(launch, Is.EqualTo(new MpiLaunch(5, 8, 1, 4)));
        Assert.That(ProcessGroup.LocalGpu(launch!), Is.EqualTo(1), "one GPU per rank on each machine: cuda:LOCAL_RANK");
    }

    [Test]
    public void WithoutALauncher_ThereIsNoLaunch()
    {
        Assert.That(MpiLaunch.Detect(Environment()), Is.Null);
        Assert.That(MpiLaunch.ForeignLauncher(Environment()), Is.Null);
    }

    [TestCase("abc", "2", "OMPI_COMM_WORLD_SIZE='abc'")]
    [TestCase("2", "2", "do not describe a rank")]
    [TestCase("0", "0", "do not describe a rank")]
    public void UnreadableVariables_AreNamed(string size, string rank, string message)
    {
        Assert.That(() => MpiLaunch.Detect(Environment(("OMPI_COMM_WORLD_SIZE", size), ("OMPI_COMM_WORLD_RANK", rank))),
            Throws.TypeOf<CollectiveException>().With.Message.Contains(message));
    }

    [Test]
    public void AnMpichLauncher_IsNamed()
    {
        Assert.That(MpiLaunch.ForeignLauncher(Environment(("PMI_SIZE", "2"), ("PMI_RANK", "0"))), Does.Contain("MPICH-style launcher"));
        Assert.That(MpiLaunch.ForeignLauncher(Environment(("PMI_SIZE", "2"), ("OMPI_COMM_WORLD_SIZE", "2"))), Is.Null,
            "Open MPI under a PMI-aware scheduler sets both");
    }

    [Test]
    public void ALibraryWithoutOpenMpisHandles_IsNotTakenForOpenMpi()
    {
        // libc stands for MPICH's libmpi.so.12: a library without ompi_mpi_comm_world, whose handles are integers.
        nint libc = NativeLibrary.Load("libc.so.6");
        Assert.That(MpiHandles.From(libc), Is.Null);
    }
}
