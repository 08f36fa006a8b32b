using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Training;

namespace CudaNn.Tests.TestSupport;

/// <summary>
/// A plan tuner's clock for tests: each plan's time comes from a table (the emulator's own times say nothing about a
/// GPU's), while every step it is asked to time still runs, so what the tuning does to the training is real.
/// </summary>
internal sealed class TableTimer(Dictionary<StepPlan, double> table) : IStepTimer
{
    public Dictionary<StepPlan, double> Table => table;

    /// <summary>The device's plan at each call, in order.</summary>
    public List<StepPlan> Timed { get; } = [];

    /// <summary>Steps run under this clock.</summary>
    public int StepsRun { get; private set; }

    public double MicrosecondsPerStep(CudaDevice device, Action step, int steps)
    {
        for (int i = 0; i < steps; i++) step();
        StepsRun += steps;
        Timed.Add(device.Plan);
        return table[device.Plan];
    }
}
