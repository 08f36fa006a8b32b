using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace CudaNn.Cli.Commands;

/// <summary>
/// Numeric and choice options, parsed in one place: each value is read by System.CommandLine through a parser that
/// reports a value that does not parse, is not finite, is out of range or is not among the choices as a parse error
/// naming the option and quoting the value (`--epochs: 'abc' is not a whole number`), so every bad value ends as one
/// line and exit code 2, never an exception.
/// </summary>
internal static class OptionValues
{
    /// <summary>How much of a value a message quotes; the rest is elided.</summary>
    public const int QuoteLimit = 200;

    /// <summary>A whole-number option accepting <paramref name="min"/> to <paramref name="max"/>; the limits appear in --help.</summary>
    public static Option<int> Whole(string name, string description, int defaultValue, int min, int max = int.MaxValue) =>
        new(name)
        {
            Description = $"{description} ({Range(min, max)})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => ParseWhole(r, name, min, max) is { } v ? (int)v : default,
        };

    /// <summary>A whole number from 0 to <see cref="ulong.MaxValue"/> (seeds).</summary>
    public static Option<ulong> Unsigned(string name, string description, ulong defaultValue) =>
        new(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => ParseWhole(r, name, ulong.MinValue, ulong.MaxValue) is { } v ? (ulong)v : default,
        };

    /// <summary>A finite real option for which <paramref name="accepts"/> holds; <paramref name="what"/> says which values those are.</summary>
    public static Option<double> Real(string name, string description, double defaultValue, Func<double, bool> accepts, string what) =>
        new(name)
        {
            Description = $"{description} ({what})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => ParseReal(r, name, accepts, what) ?? default,
        };

    /// <summary>As <see cref="Real"/>, with no value when the option is not given.</summary>
    public static Option<double?> OptionalReal(string name, string description, Func<double, bool> accepts, string what) =>
        new(name)
        {
            Description = $"{description} ({what})",
            CustomParser = r => ParseReal(r, name, accepts, what),
        };

    /// <summary>An option taking one of <paramref name="choices"/> (the first is the default), shown as `a|b|c` in --help.</summary>
    public static Option<string> Choice(string name, string description, params string[] choices) =>
        new(name)
        {
            Description = description,
            HelpName = string.Join("|", choices),
            DefaultValueFactory = _ => choices[0],
            CustomParser = r =>
            {
                string text = Token(r);
                if (choices.Contains(text)) return text;
                r.AddError($"{name}: {Quote(text)} is not one of {string.Join(", ", choices)}");
                return choices[0];
            },
        };

    /// <summary>Accepts positive finite numbers.</summary>
    public static bool IsPositive(double v) => v > 0;

    /// <summary><paramref name="text"/> in quotes, cut to <see cref="QuoteLimit"/> characters, so a huge input gives a short message.</summary>
    public static string Quote(string text) =>
        text.Length <= QuoteLimit ? $"'{text}'" : $"'{text[..QuoteLimit]}...' ({text.Length:N0} characters)";

    private static string Range(Int128 min, Int128 max) =>
        string.Create(CultureInfo.InvariantCulture, $"{min:N0} to {max:N0}");

    /// <summary>The value, or null after adding the error; Int128 holds every int and ulong, so one parser serves both.</summary>
    private static Int128? ParseWhole(ArgumentResult r, string name, Int128 min, Int128 max)
    {
        string text = Token(r);
        string digits = text.StartsWith('-') || text.StartsWith('+') ? text[1..] : text;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
        {
            r.AddError($"{name}: {Quote(text)} is not a whole number");
            return null;
        }
        if (!Int128.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out Int128 value) || value < min || value > max)
        {
            r.AddError($"{name} must be a whole number from {Range(min, max)}, got {Quote(text)}");
            return null;
        }
        return value;
    }

    private static double? ParseReal(ArgumentResult r, string name, Func<double, bool> accepts, string what)
    {
        string text = Token(r);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
        {
            r.AddError($"{name}: {Quote(text)} is not a number");
            return null;
        }
        if (!double.IsFinite(value) || !accepts(value))
        {
            r.AddError($"{name} must be {what}, got {Quote(text)}");
            return null;
        }
        return value;
    }

    private static string Token(ArgumentResult r) => r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(" ", r.Tokens.Select(t => t.Value));
}
