using System.Globalization;

namespace CudaNn.Distributed;

/// <summary>
/// This process's place in a job Open MPI's <c>mpirun</c> started, read from the variables it sets
/// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE), so a rank can choose its GPU before MPI is initialised.
/// </summary>
public sealed record MpiLaunch(int Rank, int Size, int LocalRank, int LocalSize)
{
    /// <summary>The launch this process belongs to, or null when no Open MPI launcher started it.</summary>
    public static MpiLaunch? Current => Detect(Environment.GetEnvironmentVariable);

    /// <summary>Reads the launch from <paramref name="environment"/>; a variable that is set but unreadable is an error.</summary>
    public static MpiLaunch? Detect(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("OMPI_COMM_WORLD_SIZE") is null) return null;
        int Read(string name, int fallback)
        {
            string? text = environment(name);
            if (text is null) return fallback;
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
                ? value
                : throw new CollectiveException($"{name}='{text}' set by the launcher is not a number");
        }
        int size = Read("OMPI_COMM_WORLD_SIZE", 1), rank = Read("OMPI_COMM_WORLD_RANK", 0);
        if (size < 1 || rank >= size)
            throw new CollectiveException($"OMPI_COMM_WORLD_RANK={rank} and OMPI_COMM_WORLD_SIZE={size} do not describe a rank of a job");
        return new MpiLaunch(rank, size, Read("OMPI_COMM_WORLD_LOCAL_RANK", 0), Read("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
    }

    /// <summary>
    /// The launcher that started this process when it is one CudaNn cannot join (MPICH's or Intel MPI's mpiexec, whose
    /// libraries use integer handles), named for a message; null when there is none or it is Open MPI's.
    /// </summary>
    public static string? ForeignLauncher(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("OMPI_COMM_WORLD_SIZE") is not null) return null;
        if (environment("PMI_SIZE") is not null || environment("PMI_RANK") is not null) return "an MPICH-style launcher (PMI_SIZE/PMI_RANK are set)";
        if (environment("MPI_LOCALNRANKS") is not null) return "MPICH's Hydra launcher (MPI_LOCALNRANKS is set)";
        return null;
    }
}
