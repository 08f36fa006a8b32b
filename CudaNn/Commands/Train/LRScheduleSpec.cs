using System.Globalization;
using CudaNn.Nn;
using CudaNn.Optim;

namespace CudaNn.Cli.Commands.Train;

/// <summary>
/// `train --lr-schedule`: a learning-rate schedule written as text, stepped once per epoch. One schedule, or several
/// run one after another (SequentialLR), each but the last ending at the epoch after its '@'.
/// </summary>
/// <remarks>
/// <code>
/// step:SIZE[:GAMMA]               StepLR (gamma 0.1)
/// multistep:M1/M2/...[:GAMMA]     MultiStepLR (gamma 0.1)
/// exponential:GAMMA               ExponentialLR
/// cosine[:T_MAX[:ETA_MIN]]        CosineAnnealingLR (eta_min 0); a bare cosine anneals over the epochs its part runs
/// linear[:START[:END[:ITERS]]]    LinearLR (1/3, 1, 5), the usual warm-up
/// constant[:FACTOR[:ITERS]]       ConstantLR (1/3, 5)
/// linear:0.1:1:5@5,cosine:45      warm up for 5 epochs, then anneal over 45
/// </code>
/// </remarks>
internal sealed class LRScheduleSpec
{
    public const string Grammar = "step:SIZE[:GAMMA], multistep:M1/M2/..[:GAMMA], exponential:GAMMA, cosine[:T_MAX[:ETA_MIN]] (bare: over the epochs it runs), " +
                                  "linear[:START[:END[:ITERS]]] or constant[:FACTOR[:ITERS]]; several in sequence as A@EPOCH,B";

    /// <summary>The most schedules one --lr-schedule may chain.</summary>
    public const int MaxParts = 100;

    private readonly (string Text, Func<Optimizer, LRScheduler> Create)[] _parts;
    private readonly int[] _milestones;

    private LRScheduleSpec((string, Func<Optimizer, LRScheduler>)[] parts, int[] milestones) => (_parts, _milestones) = (parts, milestones);

    /// <summary>Reads <paramref name="text"/>, and makes the schedule once on a scratch optimizer so a bad value is reported now.</summary>
    /// <exception cref="CliException">The text does not follow the grammar, or a value is out of range (the message names which).</exception>
    public static LRScheduleSpec Parse(string text)
    {
        int count = text.Count(c => c == ',') + 1;
        if (count > MaxParts) throw Error(text, $"{count} schedules in sequence is more than the {MaxParts} allowed");
        var items = text.Split(',');
        var parts = new List<(string, Func<Optimizer, LRScheduler>)>();
        var milestones = new List<int>();
        for (int i = 0; i < items.Length; i++)
        {
            string item = items[i].Trim();
            if (i < items.Length - 1)
            {
                int at = item.LastIndexOf('@');
                if (at < 0) throw Error(text, $"{OptionValues.Quote(item)} is followed by another schedule, so it needs '@EPOCH' to say where it ends");
                milestones.Add(Integer(text, item[(at + 1)..], "the epoch after '@'"));
                item = item[..at];
            }
            else if (item.Contains('@'))
            {
                throw Error(text, $"{OptionValues.Quote(item)} is the last schedule; '@EPOCH' ends a schedule that another follows");
            }
            parts.Add((item, Part(text, item)));
        }
        var spec = new LRScheduleSpec(parts.ToArray(), milestones.ToArray());
        using var scratch = new SGD([new Parameter(Tensor.Zeros([1]))], lr: 1);
        try
        {
            spec.Create(scratch);
        }
        catch (ArgumentException e)
        {
            throw Error(text, e.Message.Split('\n')[0]);
        }
        return spec;
    }

    /// <summary>
    /// This schedule with each bare "cosine" given the epochs its part runs: from the '@' before it (or the start) to
    /// the '@' after it (or <paramref name="epochs"/>, the run's last epoch). The checkpoint records the result, so a
    /// resumed run anneals as the first one did.
    /// </summary>
    public LRScheduleSpec ForEpochs(int epochs)
    {
        if (!_parts.Any(p => p.Text == "cosine")) return this;
        var texts = new List<string>();
        for (int i = 0; i < _parts.Length; i++)
        {
            string part = _parts[i].Text;
            if (part == "cosine")
            {
                int start = i == 0 ? 0 : _milestones[i - 1], end = i < _milestones.Length ? _milestones[i] : epochs;
                if (end <= start)
                    throw Error(ToString(), $"a bare cosine from epoch {start} has no epochs to anneal over (the run ends at {end}); give cosine:T_MAX");
                part = $"cosine:{end - start}";
            }
            texts.Add(i < _milestones.Length ? $"{part}@{_milestones[i]}" : part);
        }
        return Parse(string.Join(",", texts));
    }

    /// <summary>The schedule for <paramref name="optimizer"/>; it sets the optimizer's rate for epoch 1 at once.</summary>
    public LRScheduler Create(Optimizer optimizer)
    {
        if (_parts.Length == 1) return _parts[0].Create(optimizer);
        var schedulers = _parts.Select(p => p.Create(optimizer)).ToArray();
        return new SequentialLR(optimizer, schedulers, _milestones);
    }

    /// <summary>The text as given, parts and milestones normalised, for the checkpoint's metadata.</summary>
    public override string ToString() =>
        string.Join(",", _parts.Select((p, i) => i < _milestones.Length ? $"{p.Text}@{_milestones[i]}" : p.Text));

    private static Func<Optimizer, LRScheduler> Part(string text, string item)
    {
        var fields = item.Split(':');
        string name = fields[0];
        string[] args = fields[1..];
        int Count(int least, int most)
        {
            if (args.Length < least || args.Length > most)
                throw Error(text, $"{OptionValues.Quote(item)}: {name} takes {(least == most ? $"{least}" : $"{least} to {most}")} value{(most == 1 ? "" : "s")} after '{name}', got {args.Length}");
            return args.Length;
        }
        double Real(int index, double fallback) => index < args.Length ? Number(text, args[index], $"{name}'s value {index + 1}") : fallback;
        int Whole(int index, int fallback) => index < args.Length ? Integer(text, args[index], $"{name}'s value {index + 1}") : fallback;
        switch (name)
        {
            case "step":
            {
                Count(1, 2);
                int size = Whole(0, 0);
                double gamma = Real(1, 0.1);
                return o => new StepLR(o, size, gamma);
            }
            case "multistep":
            {
                Count(1, 2);
                int[] milestones = args[0].Split('/').Select(m => Integer(text, m, "a multistep milestone")).ToArray();
                double gamma = Real(1, 0.1);
                return o => new MultiStepLR(o, milestones, gamma);
            }
            case "exponential":
            {
                Count(1, 1);
                double gamma = Real(0, 0);
                return o => new ExponentialLR(o, gamma);
            }
            case "cosine":
            {
                // Bare, it anneals over the epochs its part runs, which ForEpochs writes in; until then one stands in.
                Count(0, 2);
                int tMax = Whole(0, 1);
                double etaMin = Real(1, 0);
                return o => new CosineAnnealingLR(o, tMax, etaMin);
            }
            case "linear":
            {
                Count(0, 3);
                double start = Real(0, 1.0 / 3), end = Real(1, 1.0);
                int iters = Whole(2, 5);
                return o => new LinearLR(o, start, end, iters);
            }
            case "constant":
            {
                Count(0, 2);
                double factor = Real(0, 1.0 / 3);
                int iters = Whole(1, 5);
                return o => new ConstantLR(o, factor, iters);
            }
            default:
                throw Error(text, $"unknown schedule {OptionValues.Quote(name)}");
        }
    }

    private static double Number(string text, string value, string what) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw Error(text, $"{what} {OptionValues.Quote(value)} is not a number");

    private static int Integer(string text, string value, string what) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
            ? v
            : throw Error(text, $"{what} {OptionValues.Quote(value)} is not a whole number");

    private static CliException Error(string text, string problem) =>
        new($"--lr-schedule {OptionValues.Quote(text)}: {problem}. Expected {Grammar}");
}
