using System.Buffers.Binary;

namespace CudaNn.Cli.Plots;

/// <summary>
/// A TrueType font read from a file: each character's outline (its quadratic contours, composite glyphs included)
/// filled into a coverage mask at the size asked, unhinted. Enough for the plots' labels, with no native library: the
/// plotting libraries that did this before were most of the tool's size. The system's font is found by
/// <see cref="System"/>; without one the pictures are drawn without text.
/// </summary>
internal sealed class TrueTypeFont
{
    /// <summary>The environment variable that names a .ttf file to draw text with, ahead of the system's own fonts.</summary>
    public const string FontVariable = "CUDANN_FONT";

    // Sub-scanlines per pixel row: coverage is exact across a row and sampled this often down it.
    private const int Subrows = 5;

    // The largest font file read (the fonts this is for are well under 10 MiB): a path to anything else is refused.
    private const long MaxFileBytes = 64L << 20;

    // The largest glyph drawn: a font whose coordinates would make one larger is broken, and such a glyph is left out.
    private const long MaxMaskPixels = 1 << 20;

    private static readonly GlyphMask Empty = new(0, 0, 0, 0, []);

    private readonly byte[] _data;
    private readonly int _glyf, _loca, _hmtx, _cmap, _glyphCount, _metricCount;
    private readonly bool _longOffsets;
    private readonly Dictionary<(int Glyph, double Size), GlyphMask> _masks = [];

    private TrueTypeFont(byte[] data, string source)
    {
        (_data, Source) = (data, source);
        int font = 0;
        if (Tag(0) == "ttcf") font = (int)U32(12); // a collection: its first font
        if (U32(font) is not (0x00010000 or 0x74727565))
            throw new FormatException($"{source}: not a TrueType font with glyph outlines (tag '{Tag(font)}')");
        int tables = U16(font + 4);
        var offsets = new Dictionary<string, int>();
        for (int i = 0; i < tables; i++)
        {
            int record = font + 12 + 16 * i;
            offsets[Tag(record)] = checked((int)U32(record + 8));
        }
        int Table(string tag) => offsets.TryGetValue(tag, out int at) ? at : throw new FormatException($"{source}: no '{tag}' table");
        int head = Table("head"), hhea = Table("hhea"), maxp = Table("maxp");
        UnitsPerEm = U16(head + 18);
        if (UnitsPerEm is < 16 or > 16384) throw new FormatException($"{source}: {UnitsPerEm} units per em");
        _longOffsets = I16(head + 50) == 1;
        Ascender = I16(hhea + 4);
        Descender = I16(hhea + 6);
        _metricCount = U16(hhea + 34);
        _glyphCount = U16(maxp + 4);
        if (_metricCount == 0 || _metricCount > _glyphCount) throw new FormatException($"{source}: {_metricCount} metrics for {_glyphCount} glyphs");
        (_glyf, _loca, _hmtx) = (Table("glyf"), Table("loca"), Table("hmtx"));
        _cmap = CharacterMap(Table("cmap"));
    }

    /// <summary>The file the font came from.</summary>
    public string Source { get; }

    public int UnitsPerEm { get; }

    /// <summary>Height above and (negative) below the baseline, in font units.</summary>
    public int Ascender { get; }
    public int Descender { get; }

    private static readonly Lazy<(TrueTypeFont? Font, string? Problem)> Found = new(Find);

    /// <summary>The font text is drawn with: <see cref="FontVariable"/>'s file, else a sans-serif font of the system's; null when there is none.</summary>
    public static TrueTypeFont? System => Found.Value.Font;

    /// <summary>Why pictures have no text, when <see cref="System"/> is null; null otherwise.</summary>
    public static string? MissingNote => Found.Value.Font is null ? Found.Value.Problem : null;

    /// <summary>Reads a font file; anything but a TrueType font with outlines is refused with a <see cref="FormatException"/> naming the file.</summary>
    public static TrueTypeFont Load(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes) throw new FormatException($"{path}: {length:N0} bytes, more than the {MaxFileBytes:N0} a font file may have here");
        try
        {
            return new TrueTypeFont(File.ReadAllBytes(path), path);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException)
        {
            throw new FormatException($"{path}: not a readable TrueType font ({e.Message})", e);
        }
    }

    private static (TrueTypeFont?, string?) Find()
    {
        if (Environment.GetEnvironmentVariable(FontVariable) is { Length: > 0 } chosen)
        {
            try
            {
                return (Load(chosen), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return (null, $"note: {FontVariable}={chosen} cannot be used ({e.Message}), so the picture has no text");
            }
        }
        foreach (string path in Candidates())
        {
            try
            {
                if (File.Exists(path)) return (Load(path), null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // Another candidate may do.
            }
        }
        return (null, $"note: no TrueType font was found, so the picture has no text; set {FontVariable} to a .ttf file (fonts-dejavu-core on Debian)");
    }

    /// <summary>Where the common systems keep a plain sans-serif font, then any such font in the usual folders.</summary>
    private static IEnumerable<string> Candidates()
    {
        string windows = Environment.GetFolderPath(Environment.SpecialFolder.Windows);
        string[] known =
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf", "/System/Library/Fonts/Supplemental/Arial.ttf", "/Library/Fonts/Arial.ttf",
            Path.Combine(windows, "Fonts", "segoeui.ttf"), Path.Combine(windows, "Fonts", "arial.ttf"),
        ];
        foreach (string path in known) yield return path;
        string[] folders = ["/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".fonts")];
        foreach (string folder in folders.Where(Directory.Exists))
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(folder, "*Sans*.ttf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (string file in files)
            {
                string name = Path.GetFileNameWithoutExtension(file);
                if (!name.Contains("Bold") && !name.Contains("Italic") && !name.Contains("Oblique") && !name.Contains("Mono")) yield return file;
            }
        }
    }

    /// <summary>The glyph a character is drawn with; 0 (the font's "missing" glyph) when it has none, or the map cannot be read.</summary>
    public int GlyphIndex(int codepoint)
    {
        try
        {
            return MapCharacter(codepoint);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            return 0;
        }
    }

    private int MapCharacter(int codepoint)
    {
        int format = U16(_cmap);
        if (format == 12)
        {
            // A count the file cannot hold is its end: no loop runs past the data.
            uint groups = Math.Min(U32(_cmap + 12), (uint)Math.Max(0, (_data.Length - _cmap - 16) / 12));
            for (uint g = 0; g < groups; g++)
            {
                int group = checked(_cmap + 16 + (int)g * 12);
                uint first = U32(group), last = U32(group + 4);
                if (codepoint >= first && codepoint <= last) return Checked((int)(U32(group + 8) + (uint)codepoint - first));
            }
            return 0;
        }
        if (codepoint > 0xFFFF) return 0;
        int segments = U16(_cmap + 6) / 2;
        int ends = _cmap + 14, starts = ends + 2 * segments + 2, deltas = starts + 2 * segments, ranges = deltas + 2 * segments;
        for (int s = 0; s < segments; s++)
        {
            if (U16(ends + 2 * s) < codepoint) continue;
            int start = U16(starts + 2 * s);
            if (start > codepoint) return 0;
            int delta = I16(deltas + 2 * s), range = U16(ranges + 2 * s);
            if (range == 0) return Checked((codepoint + delta) & 0xFFFF);
            int glyph = U16(ranges + 2 * s + range + 2 * (codepoint - start));
            return glyph == 0 ? 0 : Checked((glyph + delta) & 0xFFFF);
        }
        return 0;
    }

    /// <summary>How far the pen moves after <paramref name="glyph"/> at <paramref name="size"/> pixels per em (0 where the file cannot say).</summary>
    public double Advance(int glyph, double size)
    {
        int at = _hmtx + 4 * Math.Min(Math.Max(glyph, 0), _metricCount - 1);
        return at >= 0 && at + 2 <= _data.Length ? U16(at) * size / UnitsPerEm : 0;
    }

    /// <summary>The glyph's coverage at <paramref name="size"/> pixels per em, made once and kept.</summary>
    public GlyphMask Mask(int glyph, double size)
    {
        if (_masks.TryGetValue((glyph, size), out var mask)) return mask;
        try
        {
            mask = Rasterize(Outline(glyph, 0), size / UnitsPerEm);
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            mask = Empty; // a glyph the file describes badly is left out, not the picture
        }
        _masks[(glyph, size)] = mask;
        return mask;
    }

    /// <summary>The glyph's contours in font units (y up), quadratic curves flattened to line segments.</summary>
    private List<List<(double X, double Y)>> Outline(int glyph, int depth)
    {
        var contours = new List<List<(double X, double Y)>>();
        if (glyph < 0 || glyph >= _glyphCount || depth > 8) return contours;
        int start = GlyphOffset(glyph), end = GlyphOffset(glyph + 1);
        if (end <= start) return contours; // no outline (a space)
        int at = _glyf + start;
        int count = I16(at);
        if (count < 0) return Composite(at + 10, depth);
        int ends = at + 10, instructions = U16(ends + 2 * count);
        int points = count == 0 ? 0 : U16(ends + 2 * (count - 1)) + 1;
        var flags = new byte[points];
        int p = ends + 2 * count + 2 + instructions;
        for (int i = 0; i < points;)
        {
            byte flag = _data[p++];
            flags[i++] = flag;
            if ((flag & 8) == 0) continue;
            for (int repeat = _data[p++]; repeat > 0 && i < points; repeat--) flags[i++] = flag;
        }
        var xs = new int[points];
        var ys = new int[points];
        p = Coordinates(p, flags, xs, 2, 16);
        Coordinates(p, flags, ys, 4, 32);
        int first = 0;
        for (int c = 0; c < count; c++)
        {
            int last = U16(ends + 2 * c);
            if (last < first || last >= points) throw new FormatException($"{Source}: glyph {glyph}'s contour {c} ends at point {last}");
            contours.Add(Flatten(xs, ys, flags, first, last));
            first = last + 1;
        }
        return contours;
    }

    /// <summary>Reads one axis of a simple glyph's points (deltas, short or long as the flags say) into <paramref name="values"/>.</summary>
    private int Coordinates(int p, byte[] flags, int[] values, byte shortFlag, byte sameOrPositive)
    {
        int value = 0;
        for (int i = 0; i < flags.Length; i++)
        {
            if ((flags[i] & shortFlag) != 0) value += (flags[i] & sameOrPositive) != 0 ? _data[p++] : -_data[p++];
            else if ((flags[i] & sameOrPositive) == 0)
            {
                value += I16(p);
                p += 2;
            }
            values[i] = value;
        }
        return p;
    }

    /// <summary>A contour's points as line segments: on-curve points joined, off-curve ones the controls of quadratics (with the on-curve point between two of them implied).</summary>
    private static List<(double X, double Y)> Flatten(int[] xs, int[] ys, byte[] flags, int first, int last)
    {
        int n = last - first + 1;
        (double X, double Y) Point(int i) => (xs[first + (i % n + n) % n], ys[first + (i % n + n) % n]);
        bool On(int i) => (flags[first + (i % n + n) % n] & 1) != 0;
        static (double X, double Y) Mid((double X, double Y) a, (double X, double Y) b) => ((a.X + b.X) / 2, (a.Y + b.Y) / 2);

        int begin = Enumerable.Range(0, n).FirstOrDefault(On, -1);
        var current = begin >= 0 ? Point(begin) : Mid(Point(0), Point(1));
        var path = new List<(double X, double Y)> { current };
        int offset = begin >= 0 ? begin : 0;
        for (int k = 1; k <= n; k++)
        {
            int i = offset + k;
            if (On(i))
            {
                path.Add(current = Point(i));
                continue;
            }
            var control = Point(i);
            var next = On(i + 1) ? Point(i + 1) : Mid(control, Point(i + 1));
            const int Steps = 6;
            for (int s = 1; s <= Steps; s++)
            {
                double t = s / (double)Steps, u = 1 - t;
                path.Add((u * u * current.X + 2 * u * t * control.X + t * t * next.X, u * u * current.Y + 2 * u * t * control.Y + t * t * next.Y));
            }
            current = next;
            if (On(i + 1)) k++;
        }
        return path;
    }

    /// <summary>A composite glyph: its components' outlines, each moved (and scaled) as its record says.</summary>
    private List<List<(double X, double Y)>> Composite(int p, int depth)
    {
        var contours = new List<List<(double X, double Y)>>();
        int flags;
        do
        {
            flags = U16(p);
            int component = U16(p + 2);
            p += 4;
            double dx, dy;
            if ((flags & 1) != 0)
            {
                (dx, dy) = (I16(p), I16(p + 2));
                p += 4;
            }
            else
            {
                (dx, dy) = ((sbyte)_data[p], (sbyte)_data[p + 1]);
                p += 2;
            }
            if ((flags & 2) == 0) (dx, dy) = (0, 0); // aligned by matching points: rare, and drawn unmoved
            double a = 1, b = 0, c = 0, d = 1;
            if ((flags & 8) != 0)
            {
                a = d = F2Dot14(p);
                p += 2;
            }
            else if ((flags & 0x40) != 0)
            {
                (a, d) = (F2Dot14(p), F2Dot14(p + 2));
                p += 4;
            }
            else if ((flags & 0x80) != 0)
            {
                (a, b, c, d) = (F2Dot14(p), F2Dot14(p + 2), F2Dot14(p + 4), F2Dot14(p + 6));
                p += 8;
            }
            foreach (var contour in Outline(component, depth + 1))
                contours.Add(contour.Select(q => (a * q.X + c * q.Y + dx, b * q.X + d * q.Y + dy)).ToList());
        }
        while ((flags & 0x20) != 0);
        return contours;
    }

    /// <summary>
    /// Fills the contours (non-zero winding) at <paramref name="scale"/> pixels per font unit: each pixel row is cut into
    /// <see cref="Subrows"/> lines, and on each the spans inside the outline add their exact width to the pixels they cross.
    /// </summary>
    private static GlyphMask Rasterize(List<List<(double X, double Y)>> contours, double scale)
    {
        var edges = new List<(double X0, double Y0, double X1, double Y1)>();
        foreach (var contour in contours)
            for (int i = 0; i < contour.Count; i++)
            {
                var (a, b) = (contour[i], contour[(i + 1) % contour.Count]);
                if (a.Y != b.Y) edges.Add((a.X * scale, -a.Y * scale, b.X * scale, -b.Y * scale));
            }
        if (edges.Count == 0) return Empty;
        int left = (int)Math.Floor(edges.Min(e => Math.Min(e.X0, e.X1))), right = (int)Math.Ceiling(edges.Max(e => Math.Max(e.X0, e.X1)));
        int top = (int)Math.Floor(edges.Min(e => Math.Min(e.Y0, e.Y1))), bottom = (int)Math.Ceiling(edges.Max(e => Math.Max(e.Y0, e.Y1)));
        int width = right - left, height = bottom - top;
        if ((long)width * height > MaxMaskPixels) throw new FormatException($"a glyph of {width}x{height} pixels");
        var coverage = new double[width * height];
        var crossings = new List<(double X, int Winding)>();
        for (int row = 0; row < height; row++)
            for (int sub = 0; sub < Subrows; sub++)
            {
                double y = top + row + (sub + 0.5) / Subrows;
                crossings.Clear();
                foreach (var (x0, y0, x1, y1) in edges)
                    if (y >= Math.Min(y0, y1) && y < Math.Max(y0, y1))
                        crossings.Add((x0 + (y - y0) / (y1 - y0) * (x1 - x0) - left, y1 > y0 ? 1 : -1));
                crossings.Sort((p, q) => p.X.CompareTo(q.X));
                int winding = 0;
                for (int i = 0; i + 1 < crossings.Count; i++)
                {
                    winding += crossings[i].Winding;
                    if (winding != 0) AddSpan(coverage, row * width, width, crossings[i].X, crossings[i + 1].X);
                }
            }
        var bytes = new byte[coverage.Length];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)Math.Round(Math.Clamp(coverage[i] / Subrows, 0, 1) * 255);
        return new GlyphMask(left, top, width, height, bytes);
    }

    private static void AddSpan(double[] coverage, int rowStart, int width, double from, double to)
    {
        for (int x = Math.Max(0, (int)Math.Floor(from)); x < Math.Min(width, (int)Math.Ceiling(to)); x++)
            coverage[rowStart + x] += Math.Min(x + 1, to) - Math.Max(x, from);
    }

    private int GlyphOffset(int glyph) => _longOffsets ? checked((int)U32(_loca + 4 * glyph)) : 2 * U16(_loca + 2 * glyph);

    /// <summary>The 'cmap' subtable to map characters with: Unicode's full range (format 12) if there is one, else its basic plane (format 4).</summary>
    private int CharacterMap(int cmap)
    {
        int best = -1, bestRank = 0;
        for (int i = 0, count = U16(cmap + 2); i < count; i++)
        {
            int record = cmap + 4 + 8 * i;
            int platform = U16(record), encoding = U16(record + 2), table = checked(cmap + (int)U32(record + 4));
            int format = U16(table);
            int rank = (platform, encoding, format) switch
            {
                (3, 10, 12) => 4,
                (0, _, 12) => 3,
                (3, 1, 4) => 2,
                (0, _, 4) => 1,
                _ => 0,
            };
            if (rank > bestRank) (best, bestRank) = (table, rank);
        }
        return best >= 0 ? best : throw new FormatException($"{Source}: no Unicode character map");
    }

    private int Checked(int glyph) => glyph < _glyphCount ? glyph : 0;

    private string Tag(int at) => global::System.Text.Encoding.ASCII.GetString(_data, at, 4);
    private int U16(int at) => BinaryPrimitives.ReadUInt16BigEndian(_data.AsSpan(at, 2));
    private int I16(int at) => BinaryPrimitives.ReadInt16BigEndian(_data.AsSpan(at, 2));
    private uint U32(int at) => BinaryPrimitives.ReadUInt32BigEndian(_data.AsSpan(at, 4));
    private double F2Dot14(int at) => I16(at) / 16384.0;
}

/// <summary>A glyph's coverage (0 to 255 a pixel, row by row), placed <see cref="Left"/> pixels right of the pen and <see cref="Top"/> below the baseline (negative: above).</summary>
internal sealed record GlyphMask(int Left, int Top, int Width, int Height, byte[] Coverage);
