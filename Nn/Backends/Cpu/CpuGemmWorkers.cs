using System.Diagnostics;

namespace CudaNn.Backends.Cpu;

/// <summary>Work that splits into independent numbered parts, any of which may run on any thread.</summary>
internal interface IPartitionedWork
{
    void RunPart(int part);
}

/// <summary>
/// A small pool of spinning worker threads for GEMM. The thread pool (Parallel.For) takes tens of
/// microseconds to wake a parked worker on a virtual machine, as long as a whole MLP layer at batch 64
/// takes; these workers spin for 0.2 ms after each job, so back-to-back GEMMs in a training step
/// find them awake, and then park so an idle process does not burn a core.
/// </summary>
internal sealed class CpuGemmWorkers
{
    /// <summary>How long an idle worker keeps spinning before it parks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    public static readonly CpuGemmWorkers Shared = new(Environment.ProcessorCount - 1);

    private readonly Lock _dispatch = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _workerCount;
    private Ticket? _current;
    private int _parked;
    private bool _started;

    private CpuGemmWorkers(int workerCount) => _workerCount = Math.Max(0, workerCount);

    /// <summary>Threads that can work at once: the caller plus the workers.</summary>
    public int Width => _workerCount + 1;

    /// <summary>Runs parts 0..parts-1 of <paramref name="work"/>, the caller taking parts too; returns when all are done.</summary>
    public void Run(IPartitionedWork work, int parts)
    {
        // One job at a time; a second caller (another thread) simply does its own parts alone.
        if (_workerCount == 0 || !_dispatch.TryEnter())
        {
            for (int p = 0; p < parts; p++)
                work.RunPart(p);
            return;
        }
        try
        {
            StartWorkersOnce();
            // A fresh ticket per job: a worker that wakes late holds the old one and finds no part left in it.
            var ticket = new Ticket(work, parts);
            Interlocked.Exchange(ref _current, ticket);
            int parked = Volatile.Read(ref _parked);
            if (parked > 0)
                _wake.Release(Math.Min(parked, parts - 1));
            ticket.Work();
            var spin = new SpinWait();
            while (Volatile.Read(ref ticket.Done) < parts)
                spin.SpinOnce(sleep1Threshold: -1);
            if (ticket.Error is { } error)
                throw new AggregateException("A GEMM worker failed.", error);
        }
        finally
        {
            _dispatch.Exit();
        }
    }

    private void StartWorkersOnce()
    {
        if (_started)
            return;
        _started = true;
        for (int i = 0; i < _workerCount; i++)
            new Thread(WorkerLoop) { IsBackground = true, Name = $"CudaNn GEMM worker {i}" }.Start();
    }

    private void WorkerLoop()
    {
        Ticket? seen = null;
        while (true)
        {
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            Ticket? next;
            var spin = new SpinWait();
            // SpinOnce yields now and then, so on a busy machine the spinning gives way to the caller.
            while ((next = Volatile.Read(ref _current)) == seen && Stopwatch.GetTimestamp() < spinUntil)
                spin.SpinOnce(sleep1Threshold: -1);
            if (next == seen)
            {
                // Announce the park before the last look, so a dispatcher either sees us parked or we see its job.
                Interlocked.Increment(ref _parked);
                if (Volatile.Read(ref _current) == seen)
                    _wake.Wait();
                Interlocked.Decrement(ref _parked);
                continue;
            }
            seen = next;
            next!.Work();
        }
    }

    private sealed class Ticket(IPartitionedWork work, int parts)
    {
        public int Next;
        public int Done;
        public Exception? Error;

        /// <summary>Claims and runs parts until none are left.</summary>
        public void Work()
        {
            int part;
            while ((part = Interlocked.Increment(ref Next) - 1) < parts)
            {
                try
                {
                    work.RunPart(part);
                }
                catch (Exception ex)
                {
                    Error = ex;
                }
                Interlocked.Increment(ref Done);
            }
        }
    }
}
