using System.Diagnostics;
using System.Globalization;
using CudaNn.Backends;
using CudaNn.Checkpoints;
using CudaNn.Cli.Output;
using CudaNn.Cli.Plots;
using CudaNn.Data;
using CudaNn.Distributed;
using CudaNn.Training;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// One `train` run: build (or restore) model, optimizer and shuffling generator, train epoch by epoch, check
/// each epoch's loss for NaN, write checkpoints and the plot. The generator that initialises the model also
/// shuffles the data, and its state after each epoch is saved, so a resumed run draws the same permutations.
/// A run that --max-steps stops inside an epoch is marked as such: it cannot be resumed exactly, so --resume refuses it.
/// In a data-parallel job every rank runs this with its share of the data; rank 0 alone writes checkpoints and the plot.
/// </summary>
internal sealed class TrainRun(CliContext context, ITrainingView view, ProcessGroup? group = null)
{
    /// <summary>Metadata naming the epoch a run stopped inside of; absent when it stopped between epochs.</summary>
    public const string StoppedInsideEpochKey = "cudann.stopped_inside_epoch";

    public int Run(TrainSettings s, Func<string, bool> given)
    {
        var total = Stopwatch.StartNew();
        SafetensorsFile? resumeFile = null;
        var spec = new MlpSpec(0, s.Hidden, MnistDataSet.ClassCount, s.Activation) { Dropout = s.Dropout, LayerNorm = s.LayerNorm };
        if (s.Resume is not null)
        {
            if (!File.Exists(s.Resume)) throw new CliException($"--resume: file '{s.Resume}' does not exist", CliApp.RunError);
            resumeFile = SafetensorsReader.Read(s.Resume);
            if (!TrainingCheckpoint.HasTrainingState(resumeFile))
                throw new CliException($"--resume: '{s.Resume}' holds weights only, no optimizer state or position; use --init to start from its weights", CliApp.RunError);
            if (resumeFile.Metadata.TryGetValue(StoppedInsideEpochKey, out string? inside))
                throw new CliException($"--resume: '{s.Resume}' was saved when --max-steps stopped it inside epoch {inside}, so it cannot continue exactly; use --init to start from its weights", CliApp.RunError);
            spec = MlpSpec.FromCheckpoint(resumeFile);
            s = s.ResumedFrom(resumeFile, spec, given);
            CheckResumedRanks(resumeFile, s.Resume!);
        }
        var data = RunData.Load(s, resumeFile);
        if (group is { WorldSize: > 1 } && RankAgreement.Check(group, SharedSettings(s, data)) is { } disagreement)
        {
            // Every rank returns here, so the job ends without a collective left waiting; rank 0 alone says why.
            if (disagreement.Length > 0) context.Error.WriteLine($"error: {disagreement}");
            return CliApp.UsageError;
        }
        if (resumeFile is not null && (spec.Inputs != data.Inputs || spec.Classes != data.Outputs))
            throw new CliException($"--resume: the checkpoint's model maps {spec.Inputs} inputs to {spec.Classes} outputs but the data have " +
                $"{data.Inputs} features and {data.Outputs} targets", CliApp.RunError);
        spec = spec with { Inputs = data.Inputs, Classes = data.Outputs };
        if (Mlp.CheckWidths([spec.Inputs, .. spec.Hidden, spec.Classes], spec.LayerNorm) is { } tooLarge)
            throw new CliException($"--hidden {string.Join(",", spec.Hidden)}: {tooLarge}");

        s = PlanThatRuns(s, [spec.Inputs, .. spec.Hidden, spec.Classes], given);
        using var planScope = CommonOptions.UsePlan(s.Device, s.Plan ?? StepPlan.Layers);

        var generator = new Generator(s.Seed);
        using var model = spec.Create(generator, s.Device);
        using var optimizer = OptimizerFactory.Create(s.Optimizer, model.Parameters(), s.LearningRate);
        var scheduler = s.Schedule?.Create(optimizer);
        var history = new List<EpochRecord>();
        int firstEpoch = 1;
        if (resumeFile is not null)
        {
            var position = TrainingCheckpoint.Load(resumeFile, model, optimizer, scheduler, s.AllowNonFinite);
            // Compared before adding one, and --epochs is at most CliLimits.Epochs, so the loop's counter cannot wrap.
            if (position.EpochsCompleted >= s.Epochs)
                throw new CliException($"--epochs {s.Epochs}: '{s.Resume}' has already completed {position.EpochsCompleted} epochs; --epochs counts the total, so ask for more");
            generator.SetState(position.GeneratorState);
            history.AddRange(position.History);
            firstEpoch = position.EpochsCompleted + 1;
        }
        else if (s.Init is not null)
        {
            ModelCheckpoint.Load(model, SafetensorsReader.Read(s.Init), s.AllowNonFinite);
        }
        var (trainLoader, testLoader) = data.Loaders(s, generator, group);
        using var disposeTrain = trainLoader;
        using var disposeTest = testLoader;
        using var trainer = new Trainer(model, optimizer, s.UseGraphs, s.Task, group) { ClipGradNorm = s.ClipGradNorm, ClipGradValue = s.ClipGradValue };
        var rotation = new CheckpointRotation(s.SavePath, s.Keep);
        PlanChoice? tuned = null;
        if (s.Plan is null)
        {
            tuned = TunePlan(trainer, trainLoader, data, s);
            s = s with { Plan = tuned.Plan };
        }

        view.Header($"CudaNn train: {spec}, {s.Optimizer} lr {s.LearningRate.ToString(CultureInfo.InvariantCulture)}" +
                    (scheduler is null ? "" : $" scheduled by {scheduler}") +
                    (s.ClipGradValue is { } bound ? $", gradients clamped to ±{bound.ToString(CultureInfo.InvariantCulture)}" : "") +
                    (s.ClipGradNorm is { } norm ? $", gradient norm clipped to {norm.ToString(CultureInfo.InvariantCulture)}" : "") + ", " +
                    $"batch {s.BatchSize}, {s.Epochs} epochs, seed {s.Seed}, device {s.Device.Name}" +
                    (s.Device is Backends.Cuda.CudaDevice { Precision: not Precision.FP32 } reduced ? $" ({reduced.Precision} GEMMs)" : "") +
                    (s.Device is Backends.Cuda.CudaDevice ? $", plan {s.PlanName}{(tuned is null ? "" : " (auto)")}" : "") +
                    (group is null ? "" : $" on each of {group.WorldSize} ranks ({group.Backend}; {group.WorldSize * s.BatchSize} samples a step in all)"));
        view.Header($"data: {s.DataDirectory} ({data.Description})" +
                    (s.Init is null ? "" : $", weights from {s.Init}") +
                    (s.Resume is null ? "" : $", resuming {s.Resume} after epoch {firstEpoch - 1}"));
        if (tuned is not null && s.Device is Backends.Cuda.CudaDevice) view.PlanChosen(tuned);

        var metadata = new Dictionary<string, string>(spec.ToMetadata());
        foreach (var (key, value) in s.ToMetadata()) metadata[key] = value;
        if (group is { WorldSize: > 1 }) metadata[TrainSettings.WorldSizeKey] = group.WorldSize.ToString(CultureInfo.InvariantCulture);
        bool writes = group is null || group.Rank == 0;
        string? lastGood = null;
        EpochResult? last = null;
        EvaluationResult? lastTest = null;
        int completed = firstEpoch - 1;
        var progress = view.Progress is { } show ? p => show(data.Unscaled(p)) : (Action<BatchProgress>?)null;
        int code = view.Run(() =>
        {
            for (int epoch = firstEpoch; epoch <= s.Epochs && trainer.Steps < s.MaxSteps; epoch++)
            {
                var result = data.Unscaled(trainer.TrainEpoch(trainLoader, epoch, s.MaxSteps, progress));
                if (result.FirstNonFiniteStep is { } step)
                {
                    string where = $"the training loss became NaN or infinite in epoch {epoch} at step {step} (batch {result.FirstNonFiniteBatch} of {trainLoader.BatchCount})";
                    if (!s.ContinueOnNan)
                    {
                        string kept = lastGood is not null ? $"'{lastGood}' holds the last good checkpoint (epoch {completed})"
                            : File.Exists(s.SavePath) ? $"'{s.SavePath}' was left as it was" : "no checkpoint was written";
                        if (writes) context.Error.WriteLine($"error: {where}; stopped ({kept}). Try a smaller --lr, or --continue-on-nan.");
                        return CliApp.RunError;
                    }
                    view.Note($"warning: {where}; continuing because of --continue-on-nan");
                }
                var eval = data.Unscaled(trainer.Evaluate(testLoader));
                // A regression has no accuracy: its test RMSE is √(test loss).
                history.Add(new EpochRecord(epoch, result.TrainLoss, eval.MeanLoss, s.Task == TrainingTask.Regression ? double.NaN : eval.Accuracy));
                view.EpochDone(result, eval, s.Epochs);
                (last, lastTest) = (result, eval);
                if (result.Steps < trainLoader.BatchCount)
                {
                    metadata[StoppedInsideEpochKey] = epoch.ToString(CultureInfo.InvariantCulture);
                    break;
                }
                completed = epoch;
                scheduler?.Step();
                if (s.SaveEvery > 0 && epoch % s.SaveEvery == 0 && writes)
                {
                    Save(s.SavePath);
                    lastGood = s.SavePath;
                    if (rotation.Keep > 0)
                    {
                        Save(rotation.Numbered(epoch));
                        rotation.Prune();
                    }
                    view.Note($"Checkpoint after epoch {epoch} written to {s.SavePath}");
                }
            }
            return 0;
        });
        if (code != 0) return code;

        if (writes) Save(s.SavePath);
        view.Note($"Saved weights to {s.SavePath} ({trainer.Steps} steps, {total.Elapsed.TotalSeconds:F2} s in all)");
        if (s.PlotPath is not null && writes)
        {
            TrainingPlot.Save(s.PlotPath, history, spec.ToString());
            view.Note($"Plot written to {s.PlotPath}");
            if (TrueTypeFont.MissingNote is { } note) view.Note(note);
        }
        view.Finished(new TrainingSummary(spec.ToString(), completed, trainer.Steps, last?.TrainLoss, lastTest, s.SavePath, total.Elapsed)
        {
            Plan = s.Device is Backends.Cuda.CudaDevice && last?.Plan is { } plan ? CommonOptions.PlanName(plan) : null,
        });
        return 0;

        void Save(string path) => TrainingCheckpoint.Save(path, model, optimizer,
            new TrainingPosition(completed, generator.GetState(), history.Where(h => h.Epoch <= completed).ToList()), metadata, scheduler,
            data.Scaler?.ToEntries());
    }

    /// <summary>
    /// A resumed job needs as many ranks as wrote the checkpoint (their number is part of every step's batch); that every
    /// rank read the same file is checked with the rest of the run's settings (<see cref="RankAgreement"/>).
    /// </summary>
    private void CheckResumedRanks(SafetensorsFile file, string path)
    {
        int saved = TrainSettings.ReadWorldSize(file);
        int ranks = group?.WorldSize ?? 1;
        if (saved != ranks)
            throw new CliException($"--resume: '{path}' was trained by {saved} rank{(saved == 1 ? "" : "s")} and this run has {ranks}; every step's " +
                $"batch spans the ranks, so resume with {(saved == 1 ? "a single process" : $"mpirun -np {saved} ... --distributed")}", CliApp.RunError);
    }

    /// <summary>
    /// Everything about a run that every rank of a job must share, as (option, value): the model, optimizer and
    /// hyperparameters, batch size, epochs, seed, schedule, precision, the checkpoints it starts from (by SHA-256) and the
    /// data (sizes and SHA-256). Not the device, what rank 0 alone writes (--save, --plot, --save-every, --keep), --json or
    /// --collective-timeout, which may differ per rank.
    /// </summary>
    private static List<(string Field, string Value)> SharedSettings(TrainSettings s, RunData data)
    {
        static string R(double? v) => v?.ToString("R", CultureInfo.InvariantCulture) ?? "none";
        static string B(bool v) => v ? "yes" : "no";
        string precision = s.Device is Backends.Cuda.CudaDevice gpu ? gpu.Precision.ToString().ToLowerInvariant() : "fp32";
        return
        [
            ("--task", s.Task.ToString().ToLowerInvariant()), ("--target", s.Target ?? "none"), ("--test-fraction", R(s.TestFraction)), ("--no-standardize", B(!s.Standardize)),
            ("--hidden", string.Join(",", s.Hidden)), ("--activation", s.Activation.ToString()), ("--layer-norm", B(s.LayerNorm)),
            ("--dropout", R(s.Dropout)), ("--optimizer", s.Optimizer), ("--lr", R(s.LearningRate)), ("--lr-schedule", s.Schedule?.ToString() ?? "none"),
            ("--clip-grad-norm", R(s.ClipGradNorm)), ("--clip-grad-value", R(s.ClipGradValue)),
            ("--batch-size", s.BatchSize.ToString(CultureInfo.InvariantCulture)), ("--epochs", s.Epochs.ToString(CultureInfo.InvariantCulture)),
            ("--max-steps", s.MaxSteps.ToString(CultureInfo.InvariantCulture)), ("--seed", s.Seed.ToString(CultureInfo.InvariantCulture)),
            ("--no-shuffle", B(!s.Shuffle)), ("--precision", precision), ("--plan", s.PlanName), ("--no-graphs", B(!s.UseGraphs)), ("--continue-on-nan", B(s.ContinueOnNan)),
            ("--allow-nonfinite", B(s.AllowNonFinite)),
            ("--resume", s.Resume is null ? "none" : "sha256 " + RankAgreement.FileDigest(s.Resume)),
            ("--init", s.Init is null ? "none" : "sha256 " + RankAgreement.FileDigest(s.Init)),
            ("--data", data.Fingerprint),
        ];
    }

    /// <summary>
    /// --plan auto: the plan the trainer's own step runs fastest in at the run's batch size (on a batch of zeros: the
    /// values do not change the time), or the one an earlier run of this model on this card chose.
    /// </summary>
    private PlanChoice TunePlan(Trainer trainer, DataLoader trainLoader, RunData data, TrainSettings s)
    {
        int rows = Math.Min(s.BatchSize, trainLoader.SamplesPerEpoch);
        using var x = Tensor.Zeros([rows, data.Inputs], device: s.Device);
        using var y = s.Task == TrainingTask.Classification ? Tensor.Zeros([rows], DType.Int32, s.Device) : Tensor.Zeros([rows, data.Outputs], device: s.Device);
        return trainer.TunePlan(x, y, context.PlanTuning ?? new PlanTuning { CacheFile = PlanTuning.DefaultCacheFile });
    }

    /// <summary>
    /// The run's plan where this device can run it. A --plan given here that cannot is an error naming why; one a resumed
    /// checkpoint recorded that cannot (trained on another device, or in another precision) gives way to layers, with a
    /// note that the result then differs from an uninterrupted run's.
    /// </summary>
    private TrainSettings PlanThatRuns(TrainSettings s, IReadOnlyList<int> widths, Func<string, bool> given)
    {
        if (s.Plan is not { } plan || plan.WhyNotFor(s.Device, widths) is not { } why) return s;
        string name = s.PlanName;
        if (given("--plan") || s.Resume is null) throw new CliException($"--plan {name} does not apply here: {why}");
        view.Note($"note: '{s.Resume}' was trained with --plan {name}, which does not apply here ({why}); continuing with --plan layers, " +
                  "so the weights will not be bit-identical to an uninterrupted run's");
        return s with { Plan = StepPlan.Layers };
    }
}
