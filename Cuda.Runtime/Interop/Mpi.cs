using System.Runtime.InteropServices;

namespace CudaNn.Cuda.Interop;

#pragma warning disable CA1707 // C names kept on purpose
/// <summary>The thread levels of MPI_Init_thread (mpi.h; the same numbers in Open MPI 4 and 5).</summary>
internal enum MpiThreadLevel
{
    MPI_THREAD_SINGLE = 0,
    MPI_THREAD_FUNNELED = 1,
    MPI_THREAD_SERIALIZED = 2,
    MPI_THREAD_MULTIPLE = 3,
}
#pragma warning restore CA1707

/// <summary>
/// Open MPI's C API (libmpi.so.40, Open MPI 3 to 5). In Open MPI a handle (MPI_Comm, MPI_Datatype, MPI_Op,
/// MPI_Request) is a pointer, nint here; the predefined ones are the addresses of exported globals, which
/// <see cref="MpiHandles"/> takes from the loaded library. Every call returns MPI_SUCCESS (0) or an error code.
/// </summary>
internal static unsafe partial class Mpi
{
    static Mpi() => NativeLibraryResolver.EnsureInstalled();

    /// <summary>MPI_IN_PLACE: Open MPI's mpi.h defines it as ((void *) 1).</summary>
    public static readonly void* InPlace = (void*)1;

    /// <summary>MPI_MAX_LIBRARY_VERSION_STRING in Open MPI.</summary>
    public const int MaxLibraryVersionString = 256;

    /// <summary>MPI_MAX_ERROR_STRING in Open MPI.</summary>
    public const int MaxErrorString = 256;

    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Get_library_version(byte* version, out int length);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Initialized(out int flag);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Finalized(out int flag);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Init_thread(int* argc, byte*** argv, MpiThreadLevel required, out MpiThreadLevel provided);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Finalize();
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Abort(nint comm, int errorCode);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Error_string(int errorCode, byte* text, out int length);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Comm_rank(nint comm, out int rank);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Comm_size(nint comm, out int size);

    [LibraryImport(LibraryNames.Mpi)]
    public static partial int MPI_Iallreduce(void* sendBuffer, void* receiveBuffer, int count, nint datatype, nint op, nint comm, out nint request);

    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Ibcast(void* buffer, int count, nint datatype, int root, nint comm, out nint request);
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Ibarrier(nint comm, out nint request);

    /// <summary>MPI_Test with MPI_STATUS_IGNORE (a null pointer in Open MPI).</summary>
    [LibraryImport(LibraryNames.Mpi)] public static partial int MPI_Test(ref nint request, out int flag, void* status);
}

/// <summary>
/// Open MPI's predefined handles: the addresses of the library's exported objects behind MPI_COMM_WORLD, MPI_FLOAT,
/// MPI_SUM and the rest (mpi.h makes each macro the address of an <c>ompi_mpi_*</c> global).
/// </summary>
internal sealed record MpiHandles(nint CommWorld, nint Float, nint Double, nint Int, nint Int64, nint Byte, nint Sum, nint Max, nint Min)
{
    /// <summary>The global Open MPI defines MPI_COMM_WORLD as; MPICH has no such symbol (its handles are integers).</summary>
    public const string CommWorldSymbol = "ompi_mpi_comm_world";

    /// <summary>The handles in <paramref name="library"/>; null when it is not Open MPI (no <see cref="CommWorldSymbol"/>).</summary>
    public static MpiHandles? From(nint library)
    {
        if (!NativeLibrary.TryGetExport(library, CommWorldSymbol, out nint world)) return null;
        nint Get(string name) => NativeLibrary.GetExport(library, name);
        return new MpiHandles(world, Get("ompi_mpi_float"), Get("ompi_mpi_double"), Get("ompi_mpi_int"), Get("ompi_mpi_int64_t"),
            Get("ompi_mpi_byte"), Get("ompi_mpi_op_sum"), Get("ompi_mpi_op_max"), Get("ompi_mpi_op_min"));
    }
}
