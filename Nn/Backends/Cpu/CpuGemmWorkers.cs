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
    // Two tickets used in turn, so dispatching a job allocates nothing; workers follow the job count (see Ticket).
    private readonly Ticket[] _tickets = [new(), new()];
    private Ticket? _current;
    private long _jobs;
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
            long job = _jobs + 1;
            var ticket = _tickets[job & 1];
            ticket.Reset(job, work, parts);
            Volatile.Write(ref _current, ticket);
            Volatile.Write(ref _jobs, job);
            int parked = Volatile.Read(ref _parked);
            if (parked > 0 && parts > 1)
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
        long seen = 0;
        while (true)
        {
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
            var spin = new SpinWait();
            // SpinOnce yields now and then, so on a busy machine the spinning gives way to the caller.
            while (Volatile.Read(ref _jobs) == seen && Stopwatch.GetTimestamp() < spinUntil)
                spin.SpinOnce(sleep1Threshold: -1);
            if (Volatile.Read(ref _jobs) == seen)
            {
                // Announce the park before the last look, so a dispatcher either sees us parked or we see its job.
                Interlocked.Increment(ref _parked);
                if (Volatile.Read(ref _jobs) == seen)
                    _wake.Wait();
                Interlocked.Decrement(ref _parked);
                continue;
            }
            // The job count is written after the ticket, so the ticket read now is that job's or a later one's; a
            // later one is left alone here and found on the next look.
            seen = Volatile.Read(ref _jobs);
            Volatile.Read(ref _current)!.WorkOn(seen);
        }
    }

    /// <summary>
    /// One job's parts and their claim counter. A worker enters a ticket for the job it saw published and leaves it when
    /// no part is left; before a ticket is reused for a new job it is marked with that job's number, which no worker
    /// has seen yet (so late comers turn away), and reset only once the workers inside have left.
    /// </summary>
    private sealed class Ticket
    {
        private IPartitionedWork? _work;
        private int _parts;
        private long _job;
        private int _inside;
        public int Next;
        public int Done;
        public Exception? Error;

        public void Reset(long job, IPartitionedWork work, int parts)
        {
            Interlocked.Exchange(ref _job, job); // a full fence: the count of workers inside is read after it
            var spin = new SpinWait();
            while (Volatile.Read(ref _inside) != 0)
                spin.SpinOnce(sleep1Threshold: -1);
            _work = work;
            _parts = parts;
            Error = null;
            Volatile.Write(ref Done, 0);
            Volatile.Write(ref Next, 0);
        }

        /// <summary>Works on this ticket if it still holds job <paramref name="job"/>.</summary>
        public void WorkOn(long job)
        {
            Interlocked.Increment(ref _inside);
            if (Volatile.Read(ref _job) == job)
                Work();
            Interlocked.Decrement(ref _inside);
        }

        /// <summary>Claims and runs parts until none are left.</summary>
        public void Work()
        {
            int part;
            while ((part = Interlocked.Increment(ref Next) - 1) < _parts)
            {
                try
                {
                    _work!.RunPart(part);
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
