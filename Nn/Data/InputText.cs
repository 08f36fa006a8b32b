namespace CudaNn.Data;

/// <summary>How messages quote what a file said: at most <see cref="QuoteLimit"/> characters, so a huge line gives a short message.</summary>
internal static class InputText
{
    public const int QuoteLimit = 200;

    /// <summary><paramref name="text"/> in quotes, cut to <see cref="QuoteLimit"/> characters with its full length said.</summary>
    public static string Quote(string text) =>
        text.Length <= QuoteLimit ? $"'{text}'" : $"'{text[..QuoteLimit]}...' ({text.Length:N0} characters)";

    /// <summary><paramref name="text"/> cut to <see cref="QuoteLimit"/> characters, without quotes.</summary>
    public static string Shorten(string text) =>
        text.Length <= QuoteLimit ? text : $"{text[..QuoteLimit]}... ({text.Length:N0} characters)";
}
