using System.Diagnostics;
using CudaNn.Backends.Cuda;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Training;

/// <summary>Mean training loss of one epoch, weighted by batch size, with the time it took.</summary>
public sealed record EpochResult(int Epoch, long Steps, long Samples, double TrainLoss, TimeSpan Elapsed)
{
    public double SamplesPerSecond => Samples / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>The optimizer's learning rate when the epoch began (a schedule steps between epochs).</summary>
    public double LearningRate { get; init; }

    /// <summary>The optimizer step (counted over the whole run, from 1) whose loss was first NaN or infinite; null when all were finite.</summary>
    public long? FirstNonFiniteStep { get; init; }

    /// <summary>That step's position within the epoch, from 1.</summary>
    public int? FirstNonFiniteBatch { get; init; }

    /// <summary>How the model's Linear layers ran (<see cref="Backends.StepPlan"/>); null for a model that is not a Sequential.</summary>
    public Backends.StepPlan? Plan { get; init; }
}

/// <summary>How far an epoch has got: batches done, samples seen, mean loss so far, time spent.</summary>
public sealed record BatchProgress(int Epoch, int Batch, int Batches, long Samples, double RunningLoss, TimeSpan Elapsed)
{
    public double SamplesPerSecond => Samples / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>Mean loss and accuracy over a whole data set (for a regression, the mean squared error and its root).</summary>
public sealed record EvaluationResult(double MeanLoss, long Correct, long Count)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>For a regression: √(mean squared error), in the targets' units.</summary>
    public double RootMeanSquaredError => Math.Sqrt(MeanLoss);

    /// <summary>What was evaluated: a classifier (loss and accuracy) or a regression (mean squared error).</summary>
    public TrainingTask Task { get; init; }
}

/// <summary>What a <see cref="Trainer"/> fits: class labels with cross-entropy, or float targets with the mean squared error.</summary>
public enum TrainingTask
{
    /// <summary>int32 labels [B], CrossEntropyLoss on the model's logits; evaluation counts correct predictions.</summary>
    Classification,

    /// <summary>float targets shaped as the model's output, MSELoss; evaluation gives the mean squared error.</summary>
    Regression,
}

/// <summary>
/// The training loop of PyTorch's MNIST example: for each batch, zero the gradients, forward, cross-entropy (or, for a
/// regression, the mean squared error), backward, step. Losses are summed on the model's device and read once per epoch, so a GPU step never
/// waits for the host. Evaluation runs under <see cref="GradMode.NoGrad"/> with a loss and sums of its own, so it
/// shares no buffer with the training step (which a CUDA graph may replay after it).
/// With a <see cref="ProcessGroup"/> it trains data-parallel (PyTorch's DistributedDataParallel): every rank starts from
/// rank 0's weights, averages its gradients with the others' before each step (inside the captured graph with NCCL),
/// and the epoch's loss and the evaluation's sums are reduced over the ranks; each rank's loaders take its own
/// <see cref="DistributedShard"/> of the data.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly CrossEntropyLoss _lossFn = new();
    private readonly MSELoss _mse = new();
    private readonly MSELoss _evalMse = new();
    private readonly Tensor _lossSum;
    private readonly CrossEntropyLoss _evalLossFn = new();
    private readonly Tensor _evalLossSum;
    private readonly Tensor _correct;
    private readonly StepGraphs? _graphs;
    private readonly Action _stepOnBatch;
    private (Tensor X, Tensor Y) _batch;
    private Tensor? _stepLosses;
    private Tensor[] _stepLossSlots = [];
    private Tensor? _batchLoss;
    private double? _clipGradNorm;
    private double? _clipGradValue;
    private Tensor? _gradNorm;
    private readonly Tensor[] _allGrads;
    private readonly ProcessGroup? _group;

    /// <param name="useGraphs">On a GPU device, capture the training step as a CUDA graph and replay it (turn off to debug).</param>
    /// <param name="task">Classification (cross-entropy, the default) or regression (mean squared error).</param>
    /// <param name="processGroup">The ranks to train with, data-parallel; null trains alone. Constructing the trainer
    /// broadcasts rank 0's parameters and optimizer state, so every rank must construct it.</param>
    public Trainer(Module model, Optimizer optimizer, bool useGraphs = true, TrainingTask task = TrainingTask.Classification,
        ProcessGroup? processGroup = null)
    {
        if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(task), task, "unknown training task");
        Model = model;
        Optimizer = optimizer;
        Task = task;
        var first = model.Parameters().FirstOrDefault()?.Value ?? throw new ArgumentException("the model has no parameters");
        _lossSum = Tensor.Zeros([1], first.DType, first.Device);
        _evalLossSum = Tensor.Zeros([1], first.DType, first.Device);
        _correct = Tensor.Zeros([1], DType.Int32, first.Device);
        if (useGraphs && first.Device is CudaDevice gpu) _graphs = new StepGraphs(gpu);
        _stepOnBatch = () => Step(_batch.X, _batch.Y);
        _allGrads = [optimizer.Gradients.Flat];
        if (processGroup is not null)
        {
            if (processGroup.Device != first.Device)
                throw new ArgumentException($"the model is on {first.Device.Name} but the {processGroup.Backend} process group's tensors live on {processGroup.Device.Name}");
            _group = processGroup;
            processGroup.BroadcastParameters(optimizer);
        }
    }

    /// <summary>The ranks this trainer trains with, data-parallel; null when it trains alone.</summary>
    public ProcessGroup? ProcessGroup => _group;

    /// <summary>Whether training steps are captured and replayed as CUDA graphs.</summary>
    public bool UsesGraphs => _graphs is not null;

    /// <summary>How many training-step graphs have been captured, re-captures included (0 without graphs).</summary>
    public int GraphCaptures => _graphs?.Captures ?? 0;

    /// <summary>The operations one replay of the latest captured step runs (kernels, copies, cuBLAS's own kernels); 0 without graphs.</summary>
    public int GraphNodesPerStep => _graphs?.NodesPerStep ?? 0;

    public Module Model { get; }
    public Optimizer Optimizer { get; }
    public TrainingTask Task { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long Steps => Optimizer.StepCount;

    /// <summary>
    /// When set, each step scales the gradients so their total 2-norm is at most this value before the optimizer
    /// steps (torch.nn.utils.clip_grad_norm_ between backward and step), on the device; null (the default) clips
    /// nothing. <see cref="GradNorm"/> holds the latest step's norm before clipping.
    /// </summary>
    public double? ClipGradNorm
    {
        get => _clipGradNorm;
        set
        {
            if (value is { } v && !(v > 0))
                throw new ArgumentOutOfRangeException(nameof(ClipGradNorm), v, "the largest gradient norm must be above 0");
            _clipGradNorm = value;
            if (value is not null) _gradNorm ??= Tensor.Zeros([1], _lossSum.DType, _lossSum.Device);
            _graphs?.DropAll(); // the bound is an argument of the captured launch
        }
    }

    /// <summary>
    /// When set, each step clamps every gradient element to [-value, value] before the optimizer steps
    /// (torch.nn.utils.clip_grad_value_), and before any <see cref="ClipGradNorm"/>; null (the default) clamps nothing.
    /// </summary>
    public double? ClipGradValue
    {
        get => _clipGradValue;
        set
        {
            if (value is { } v && !(v > 0))
                throw new ArgumentOutOfRangeException(nameof(ClipGradValue), v, "the gradient bound must be above 0");
            _clipGradValue = value;
            _graphs?.DropAll();
        }
    }

    /// <summary>The latest step's total gradient norm before clipping, one element on the device; null unless <see cref="ClipGradNorm"/> was set.</summary>
    public Tensor? GradNorm => _gradNorm;

    /// <summary>Least time between two progress reports: each report reads the running loss back from the device.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Chooses the fastest <see cref="Backends.StepPlan"/> for this model at the batch shape of (<paramref name="x"/>,
    /// <paramref name="y"/>) by timing this trainer's own step in each plan that applies, and sets it on the device
    /// (torch.backends.cudnn.benchmark, for a whole step). The weights, the optimizer's state and step counts and the
    /// dropout generators are restored afterwards, so training goes on exactly as in a run pinned to the chosen plan.
    /// Call it before training, on a batch of the size training uses (the values do not matter); data-parallel, every
    /// rank calls it and rank 0's choice is taken. Off a GPU it returns <see cref="Backends.StepPlan.Layers"/>, the only plan.
    /// </summary>
    public PlanChoice TunePlan(Tensor x, Tensor y, PlanTuning? tuning = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        return PlanTuner.Tune(this, x, y, tuning ?? new PlanTuning(), RunStep);
    }

    /// <summary>
    /// One pass over <paramref name="loader"/>, stopping early once <paramref name="maxSteps"/> steps are reached in total.
    /// Data-parallel, the result's loss and samples are the whole job's, and progress reports this rank's running loss.
    /// Each step's loss is kept on the device and checked once at the end, so a NaN or infinity is reported
    /// with the step it first appeared in (<see cref="EpochResult.FirstNonFiniteStep"/>) without a sync per step.
    /// <paramref name="progress"/>, when given, is called at most every <see cref="ProgressInterval"/> and after the last batch.
    /// </summary>
    public EpochResult TrainEpoch(DataLoader loader, int epoch, long maxSteps = long.MaxValue, Action<BatchProgress>? progress = null)
    {
        Model.Train();
        double learningRate = Optimizer.LearningRate;
        var clock = Stopwatch.StartNew();
        var backend = _lossSum.Backend;
        backend.Fill(_lossSum, 0);
        var (stepLosses, slots) = StepLosses(loader.BatchCount);
        long samples = 0, startSteps = Steps;
        int batch = 0;
        var lastReport = TimeSpan.Zero;
        foreach (var (x, y) in loader)
        {
            if (Steps >= maxSteps) break;
            RunStep(x, y);
            // Outside any captured graph: the slot moves every step, a graph's arguments do not.
            backend.Copy(_batchLoss!, slots[batch]);
            samples += x.Shape[0];
            batch++;
            if (progress is not null && (clock.Elapsed - lastReport >= ProgressInterval || batch == loader.BatchCount))
            {
                lastReport = clock.Elapsed;
                _group?.Synchronize();
                progress(new BatchProgress(epoch, batch, loader.BatchCount, samples, _lossSum.Item() / samples, clock.Elapsed));
            }
        }
        _group?.Synchronize();
        double lossSum = _lossSum.Item();
        if (_group is not null)
        {
            double[] totals = _group.AllReduce([lossSum, samples]);
            (lossSum, samples) = (totals[0], (long)totals[1]);
        }
        double meanLoss = samples == 0 ? double.NaN : lossSum / samples;
        int? bad = double.IsFinite(meanLoss) || samples == 0 ? null : FirstNonFinite(stepLosses, batch);
        return new EpochResult(epoch, Steps - startSteps, samples, meanLoss, clock.Elapsed)
        {
            LearningRate = learningRate,
            Plan = (Model as Sequential)?.Plan,
            FirstNonFiniteBatch = bad + 1,
            FirstNonFiniteStep = bad is null ? null : startSteps + bad.Value + 1,
        };
    }

    /// <summary>One training step on the batch, replayed from its captured graph when there is one.</summary>
    internal void RunStep(Tensor x, Tensor y)
    {
        _batch = (x, y);
        if (_graphs is null) Step(x, y);
        else if (_graphs.Run(x, y, _stepOnBatch)) Optimizer.CountReplayedStep();
    }

    /// <summary>A device buffer for one loss per batch, and a one-element view of each slot, made once per size.</summary>
    private (Tensor Losses, Tensor[] Slots) StepLosses(int batches)
    {
        if (_stepLosses is null || _stepLosses.Shape[0] < batches)
        {
            _stepLosses?.Dispose();
            _stepLosses = Tensor.Zeros([Math.Max(batches, 1)], _lossSum.DType, _lossSum.Device);
            _stepLossSlots = Enumerable.Range(0, _stepLosses.Shape[0]).Select(i => _stepLosses.Narrow(i, 1)).ToArray();
        }
        return (_stepLosses, _stepLossSlots);
    }

    private static int? FirstNonFinite(Tensor stepLosses, int batches)
    {
        var values = stepLosses.DType == DType.Float64
            ? stepLosses.ToArray<double>()
            : Array.ConvertAll(stepLosses.ToArray<float>(), v => (double)v);
        for (int i = 0; i < batches; i++)
            if (!double.IsFinite(values[i])) return i;
        // Every step was finite yet the sum overflowed: blame the last one, where it became infinite.
        return batches - 1;
    }

    /// <summary>zero_grad, forward, loss, backward, clipping when asked, step, and the batch's loss added to the epoch's sum, all on the device.</summary>
    internal void Step(Tensor x, Tensor y)
    {
        // The step's outputs never leave the Trainer: its layers hand out the same views every time, allocating nothing.
        using var reuse = ShapeBuffers.ReuseViews();
        Optimizer.ZeroGrad();
        var output = Model.Forward(x);
        Tensor loss;
        if (Task == TrainingTask.Classification)
        {
            loss = _lossFn.Forward(output, y, total: _lossSum);
            Model.Backward(_lossFn.Backward());
        }
        else
        {
            // The epoch's sum weighs each batch's mean by its rows, as the cross-entropy kernel does for its total.
            loss = _mse.Forward(output, y);
            loss.Backend.Axpy(x.Shape[0], loss, _lossSum);
            Model.Backward(_mse.Backward());
        }
        var grads = Optimizer.Gradients.Read();
        // Clipping sees the averaged gradients, as it does after DistributedDataParallel's backward.
        _group?.AverageGradients(Optimizer);
        if (_clipGradValue is { } bound) grads.Backend.Clamp(grads, -bound, bound);
        if (_clipGradNorm is { } maxNorm) grads.Backend.ClipGradNorm(_allGrads, maxNorm, _gradNorm!);
        Optimizer.Step();
        _batchLoss = loss;
    }

    /// <summary>
    /// Mean loss and accuracy (or mean squared error) of the model on every sample of <paramref name="loader"/>, in evaluation mode;
    /// data-parallel, over every rank's share (a loader with an unpadded <see cref="DistributedShard"/> counts each sample once).
    /// </summary>
    public EvaluationResult Evaluate(DataLoader loader)
    {
        var (lossSum, correct, count) = EvaluationSums(Model, loader, Task, _evalLossFn, _evalMse, _evalLossSum, _correct);
        if (_group is not null)
        {
            double[] totals = _group.AllReduce([lossSum, correct, count]);
            (lossSum, correct, count) = (totals[0], (long)totals[1], (long)totals[2]);
        }
        return Result(lossSum, correct, count, Task);
    }

    /// <summary>Mean loss and accuracy of any classifier (or mean squared error of a regression), for `eval` without an optimizer.</summary>
    public static EvaluationResult Evaluate(Module model, DataLoader loader, TrainingTask task = TrainingTask.Classification)
    {
        using var lossFn = new CrossEntropyLoss();
        using var mse = new MSELoss();
        var first = model.Parameters().First().Value;
        using var lossSum = Tensor.Zeros([1], first.DType, first.Device);
        using var correct = Tensor.Zeros([1], DType.Int32, first.Device);
        var (sum, right, count) = EvaluationSums(model, loader, task, lossFn, mse, lossSum, correct);
        return Result(sum, right, count, task);
    }

    private static EvaluationResult Result(double lossSum, long correct, long count, TrainingTask task) =>
        new(count == 0 ? double.NaN : lossSum / count, correct, count) { Task = task };

    /// <summary>The summed loss, the correct predictions and the samples of one pass over <paramref name="loader"/>.</summary>
    private static (double LossSum, long Correct, long Count) EvaluationSums(Module model, DataLoader loader, TrainingTask task,
        CrossEntropyLoss lossFn, MSELoss mse, Tensor lossSum, Tensor correct)
    {
        bool wasTraining = model.Training;
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        using var reuse = ShapeBuffers.ReuseViews();
        lossSum.Backend.Fill(lossSum, 0);
        correct.CopyFrom<int>([0]);
        long count = 0;
        try
        {
            foreach (var (x, y) in loader)
            {
                if (task == TrainingTask.Classification)
                {
                    lossFn.Forward(model.Forward(x), y, correct, lossSum);
                }
                else
                {
                    var loss = mse.Forward(model.Forward(x), y);
                    loss.Backend.Axpy(x.Shape[0], loss, lossSum);
                }
                count += x.Shape[0];
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        return (lossSum.Item(), (long)correct.Item(), count);
    }

    public void Dispose()
    {
        _graphs?.Dispose();
        _lossFn.Dispose();
        _mse.Dispose();
        _evalMse.Dispose();
        _lossSum.Dispose();
        _evalLossFn.Dispose();
        _evalLossSum.Dispose();
        _correct.Dispose();
        _stepLosses?.Dispose();
        _gradNorm?.Dispose();
    }
}
