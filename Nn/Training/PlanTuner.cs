using System.Diagnostics;
using System.Globalization;
using CudaNn.Backends;
using CudaNn.Backends.Cuda;
using CudaNn.Cuda;
using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Training;

/// <summary>Measures training steps for <see cref="Trainer.TunePlan"/>.</summary>
public interface IStepTimer
{
    /// <summary>Runs <paramref name="step"/> <paramref name="steps"/> times on <paramref name="device"/> and returns the microseconds one took, on average.</summary>
    double MicrosecondsPerStep(CudaDevice device, Action step, int steps);
}

/// <summary>Device time between two events on the device's stream, the way a GPU's own clock sees the steps.</summary>
public sealed class DeviceEventTimer : IStepTimer
{
    public static readonly DeviceEventTimer Instance = new();

    private DeviceEventTimer()
    {
    }

    public double MicrosecondsPerStep(CudaDevice device, Action step, int steps)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using IDeviceEvent start = device.Compute.CreateEvent(), end = device.Compute.CreateEvent();
        device.Stream.Synchronize();
        start.Record(device.Stream);
        for (int i = 0; i < steps; i++) step();
        end.Record(device.Stream);
        end.Synchronize();
        return end.ElapsedMillisecondsSince(start) * 1e3 / steps;
    }
}

/// <summary>How <see cref="Trainer.TunePlan"/> measures: the timer, how long, and where decisions are remembered.</summary>
public sealed class PlanTuning
{
    /// <summary>What times the steps; device events by default.</summary>
    public IStepTimer Timer { get; init; } = DeviceEventTimer.Instance;

    /// <summary>The most replays timed per plan.</summary>
    public int MaxReplays { get; init; } = 20;

    /// <summary>
    /// Device time each plan's timed replays may take, after one replay that estimates a step: a step of 5 ms gets 4
    /// replays, one of 60 µs <see cref="MaxReplays"/>. Every plan is timed at least twice.
    /// </summary>
    public TimeSpan BudgetPerPlan { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// A JSON file of earlier decisions, keyed by card, driver and library versions, kernels, model, batch, precision
    /// and ranks: a decision found there is taken without timing, and a new one is added.
    /// Null (the default): nothing is remembered.
    /// </summary>
    public string? CacheFile { get; init; }

    /// <summary>
    /// plans.json beside the compiled kernels (<c>$CUDANN_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/cudann</c>, else
    /// <c>~/.cache/cudann</c>), where `train` keeps its decisions; null when there is no such directory.
    /// </summary>
    public static string? DefaultCacheFile => PlanCache.DefaultFile;
}

/// <summary>One plan's part in a tuning: its time per step, or why it does not apply.</summary>
/// <param name="MicrosecondsPerStep">Device microseconds per captured step (per eager step without graphs); null when not timed.</param>
/// <param name="Replays">Steps timed.</param>
/// <param name="WhyNot">Why the plan does not apply to this model here; null when it does.</param>
public sealed record PlanTiming(StepPlan Plan, double? MicrosecondsPerStep, int Replays, string? WhyNot);

/// <summary>The plan <see cref="Trainer.TunePlan"/> chose, with what it measured (or found in the cache).</summary>
/// <param name="FromCache">The decision came from <see cref="PlanTuning.CacheFile"/>, with the timings recorded there; nothing was timed.</param>
/// <param name="Elapsed">Wall time the tuning took, warm-up steps and captures included.</param>
public sealed record PlanChoice(StepPlan Plan, IReadOnlyList<PlanTiming> Timings, bool FromCache, TimeSpan Elapsed)
{
    /// <summary>"fused: 61.2 µs a step (epilogues 70.4, layers 80.3), tuned in 38 ms", as `train` prints it.</summary>
    public override string ToString()
    {
        static string Name(StepPlan plan) => plan.ToString().ToLowerInvariant();
        var chosen = Timings.FirstOrDefault(t => t.Plan == Plan);
        var others = Timings.Where(t => t.Plan != Plan && t.MicrosecondsPerStep is not null)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{Name(t.Plan)} {t.MicrosecondsPerStep:F1}")).ToList();
        string text = chosen?.MicrosecondsPerStep is { } us
            ? string.Create(CultureInfo.InvariantCulture, $"{Name(Plan)}: {us:F1} µs a step") + (others.Count > 0 ? $" ({string.Join(", ", others)})" : "")
            : $"{Name(Plan)}: the only plan that applies";
        var excluded = Timings.Where(t => t.WhyNot is not null).Select(t => $"{Name(t.Plan)} does not apply: {t.WhyNot}").ToList();
        if (excluded.Count > 0) text += "; " + string.Join("; ", excluded);
        return text + (FromCache ? ", as tuned by an earlier run" : chosen?.MicrosecondsPerStep is null ? ""
            : string.Create(CultureInfo.InvariantCulture, $", tuned in {Elapsed.TotalMilliseconds:F0} ms"));
    }
}

/// <summary>
/// Chooses a <see cref="Trainer"/>'s plan by measurement (cuDNN's benchmark mode, for a whole training step): every plan
/// that applies to the model runs the trainer's own step on the given batch (eagerly once, then captured and replayed
/// when the trainer uses graphs) and is timed; the fastest is set on the device. The weights, the optimizer's state and
/// step counts and each Dropout's generator are copied before and put back after, so the training that follows is
/// step for step the training a run pinned to the chosen plan does. Data-parallel, every rank times the same plans in
/// the same order (their steps hold collectives) and rank 0's choice is every rank's.
/// </summary>
internal static class PlanTuner
{
    public static PlanChoice Tune(Trainer trainer, Tensor x, Tensor y, PlanTuning tuning, Action<Tensor, Tensor> step)
    {
        var clock = Stopwatch.StartNew();
        var model = trainer.Model;
        var group = trainer.ProcessGroup;
        var device = model.Parameters().First().Value.Device;
        if (device is not CudaDevice gpu)
            return new PlanChoice(StepPlan.Layers, [new PlanTiming(StepPlan.Layers, null, 0, null)], false, clock.Elapsed);

        var previous = gpu.Plan;
        var candidates = Enum.GetValues<StepPlan>()
            .Select(plan => new PlanTiming(plan, null, 0, model is Sequential sequential ? sequential.WhyNot(plan, gpu)
                : plan == StepPlan.Layers ? null : $"plans other than layers run the Linear layers of a Sequential, not of a {model.GetType().Name}"))
            .ToList();
        var applicable = candidates.Where(c => c.WhyNot is null).Select(c => c.Plan).ToList();
        if (applicable.Count <= 1)
        {
            gpu.Plan = applicable.Count == 1 ? applicable[0] : StepPlan.Layers;
            return new PlanChoice(gpu.Plan, candidates, false, clock.Elapsed);
        }

        string key = PlanCache.Key(gpu, model, x, trainer.UsesGraphs, group?.WorldSize ?? 1);
        var cache = tuning.CacheFile is null ? null : new PlanCache(tuning.CacheFile);
        var cached = group is null || group.Rank == 0 ? cache?.Find(key, applicable) : null;
        if (group is not null) cached = Agreed(group, cached?.Plan) is { } plan ? cached ?? new PlanCache.Entry(plan, new Dictionary<StepPlan, double>()) : null;
        if (cached is not null)
        {
            gpu.Plan = cached.Plan;
            var recorded = candidates.Select(c => c with { MicrosecondsPerStep = cached.Microseconds.GetValueOrDefault(c.Plan) }).ToList();
            return new PlanChoice(cached.Plan, recorded, true, clock.Elapsed);
        }

        var timings = new List<PlanTiming>(candidates);
        using (var snapshot = TrainingSnapshot.Take(model, trainer.Optimizer))
        {
            try
            {
                foreach (var plan in applicable)
                {
                    gpu.Plan = plan;
                    timings[(int)plan] = Time(gpu, plan, () => step(x, y), tuning);
                }
            }
            finally
            {
                gpu.Plan = previous;
                snapshot.Restore();
            }
        }
        var fastest = timings.Where(t => t.MicrosecondsPerStep is not null).MinBy(t => t.MicrosecondsPerStep!.Value)!.Plan;
        if (group is not null) fastest = Agreed(group, fastest)!.Value;
        gpu.Plan = fastest;
        if (group is null || group.Rank == 0)
            cache?.Store(key, fastest, timings.Where(t => t.MicrosecondsPerStep is not null).ToDictionary(t => t.Plan, t => t.MicrosecondsPerStep!.Value));
        return new PlanChoice(fastest, timings, false, clock.Elapsed);
    }

    /// <summary>
    /// Two steps to warm the plan up (the first allocates its buffers; with graphs the second is captured), one timed
    /// step to estimate, then as many as <see cref="PlanTuning.BudgetPerPlan"/> allows, at least 2, at most
    /// <see cref="PlanTuning.MaxReplays"/>.
    /// </summary>
    private static PlanTiming Time(CudaDevice gpu, StepPlan plan, Action step, PlanTuning tuning)
    {
        step();
        step();
        double estimate = tuning.Timer.MicrosecondsPerStep(gpu, step, 1);
        double budget = tuning.BudgetPerPlan.TotalMicroseconds;
        int replays = (int)Math.Clamp(double.IsFinite(estimate) && estimate > 0 ? budget / estimate : 2, 2, Math.Max(2, tuning.MaxReplays));
        double microseconds = tuning.Timer.MicrosecondsPerStep(gpu, step, replays);
        if (!double.IsFinite(microseconds) || microseconds < 0)
            throw new InvalidOperationException($"timing the {plan.ToString().ToLowerInvariant()} plan gave {microseconds} µs a step");
        return new PlanTiming(plan, microseconds, replays, null);
    }

    /// <summary>Rank 0's plan (null: none), on every rank.</summary>
    private static StepPlan? Agreed(Distributed.ProcessGroup group, StepPlan? plan)
    {
        double mine = group.Rank == 0 && plan is { } p ? (int)p + 1 : 0;
        int agreed = (int)group.AllReduce([mine])[0];
        return agreed == 0 ? null : (StepPlan)(agreed - 1);
    }

    /// <summary>What a training step changes, copied on the device and put back: weights, optimizer state and step counts, dropout generators.</summary>
    private sealed class TrainingSnapshot : IDisposable
    {
        private readonly Optimizer _optimizer;
        private readonly Tensor _values;
        private readonly List<(Tensor Live, Tensor Copy)> _state;
        private readonly long _steps;
        private readonly long[] _parameterSteps;
        private readonly List<(Dropout Layer, ulong Seed, ulong Calls)> _dropouts;

        private TrainingSnapshot(Module model, Optimizer optimizer)
        {
            _optimizer = optimizer;
            _values = optimizer.AllValues.Clone();
            _state = optimizer.StateBuffers().Values.Select(flat => (flat, flat.Clone())).ToList();
            _steps = optimizer.StepCount;
            _parameterSteps = optimizer.ParameterStepCounts();
            _dropouts = model.NamedModules().Select(m => m.Module).OfType<Dropout>().Select(d => (d, d.Seed, d.Calls)).ToList();
        }

        public static TrainingSnapshot Take(Module model, Optimizer optimizer) => new(model, optimizer);

        public void Restore()
        {
            _values.Backend.Copy(_values, _optimizer.AllValues);
            foreach (var (live, copy) in _state) copy.Backend.Copy(copy, live);
            _optimizer.RestoreStepCounts(_steps, _parameterSteps);
            foreach (var (layer, seed, calls) in _dropouts) layer.SetRngState(seed, calls);
            _optimizer.ZeroGrad();
        }

        public void Dispose()
        {
            _values.Dispose();
            foreach (var (_, copy) in _state) copy.Dispose();
        }
    }
}
