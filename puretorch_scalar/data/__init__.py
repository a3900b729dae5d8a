"""Small data sets as plain nested lists, and the two things a training loop does with them.

    X, y = data.make_moons(100, noise=0.1, seed=0)     # X: 100 × [x, y] floats, y: 100 ints
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    for Xb, yb in data.batches(X_train, y_train, batch_size=16, seed=0):
        ...

Every generator takes a `seed` and draws from its own `random.Random(seed)`, so the same seed
gives the same data on every run and platform, and the global `random` state is left alone.
`seed=None` means fresh randomness. Points come shuffled, so any prefix mixes the classes.

Labels are ints: 0/1 for the two-class sets (`make_moons`, `make_circles`, `make_xor`; convert
with `[2 * t - 1 for t in y]` for a ±1 hinge loss), 0…n_classes−1 for `make_spiral`, and the
digit 0–9 for the real images: `load_digits` (8×8) and `load_mnist` (28×28, 5,000 shipped, or
the full 70,000 read from a folder of the standard MNIST files). The real data sets are shipped
in this package, so nothing is downloaded: source and licence in README.md here.
"""

from __future__ import annotations

import gzip
import lzma
import math
import numbers
import os
import random
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path

from puretorch_scalar.checks import ArgumentTypeError, boolean, one_of, positive_int, real

__all__ = [
    "make_moons",
    "make_circles",
    "make_spiral",
    "make_xor",
    "load_digits",
    "load_mnist",
    "load_names",
    "train_test_split",
    "batches",
]

Points = list[list[float]]  # (n, 2) for the toy sets, (n, 64) for digits, (n, 784) for MNIST


# ---------------------------------------------------------------------------------------------
# Two-dimensional toy sets: each point is [x, y], drawn around a clean shape then jittered.


def _linspace(start: float, stop: float, n: int) -> list[float]:
    """n evenly spaced numbers from start to stop inclusive (numpy.linspace)."""
    if n == 1:
        return [start]
    return [start + (stop - start) * i / (n - 1) for i in range(n)]


def _jitter(points: list[tuple[float, float]], noise: float, rng: random.Random) -> Points:
    """Each point plus N(0, noise²) on each coordinate."""
    return [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points]


def _shuffled(X: Points, labels: list[int], rng: random.Random) -> tuple[Points, list[int]]:
    """Points and labels in one random order, still paired."""
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [labels[i] for i in order]


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | None = None) -> tuple[Points, list[int]]:
    """Two interleaving half circles (scikit-learn's shape): micrograd's demo data.

    Label 0: the upper arc (cos t, sin t) for t in [0, π], ⌊n/2⌋ points.
    Label 1: the lower arc (1 − cos t, 1 − sin t − 0.5), the other ⌈n/2⌉ points.
    `noise` is the standard deviation of Gaussian noise added to each coordinate.
    """
    n_samples = positive_int(n_samples, "n_samples", "make_moons")
    noise = real(noise, "noise", "make_moons", low=0)
    n_upper = n_samples // 2
    upper = [(math.cos(t), math.sin(t)) for t in _linspace(0.0, math.pi, n_upper)]
    lower = [(1 - math.cos(t), 0.5 - math.sin(t)) for t in _linspace(0.0, math.pi, n_samples - n_upper)]
    labels = [0] * len(upper) + [1] * len(lower)
    rng = random.Random(seed)
    return _shuffled(_jitter(upper + lower, noise, rng), labels, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.1, factor: float = 0.5, seed: int | None = None
) -> tuple[Points, list[int]]:
    """A circle inside a circle: not separable by any line, easy for a small MLP.

    Label 0: ⌊n/2⌋ points evenly spaced on the unit circle. Label 1: the other ⌈n/2⌉ on the circle
    of radius `factor` (0 ≤ factor < 1). `noise`: std of Gaussian noise added to each coordinate.
    """
    n_samples = positive_int(n_samples, "n_samples", "make_circles")
    noise = real(noise, "noise", "make_circles", low=0)
    factor = real(factor, "factor", "make_circles", 0, 1, include_high=False)
    n_outer = n_samples // 2
    points, labels = [], []
    for label, (radius, n) in enumerate(((1.0, n_outer), (factor, n_samples - n_outer))):
        for i in range(n):
            t = 2 * math.pi * i / n
            points.append((radius * math.cos(t), radius * math.sin(t)))
            labels.append(label)
    rng = random.Random(seed)
    return _shuffled(_jitter(points, noise, rng), labels, rng)


def make_spiral(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> tuple[Points, list[int]]:
    """`n_classes` spiral arms winding out from the origin (the CS231n data set).

    Arm k holds n/n_classes points (the first n mod n_classes arms one more) at radius r evenly
    spaced in [0, 1] and angle θ = 2πk/n_classes + 4r + noise·z, z ~ N(0, 1); the point is
    (r cos θ, r sin θ). So here `noise` is the std of the angle, in radians: it blurs the arms
    along their circles, and the centre, where all arms meet, stays the hard part.
    """
    n_samples = positive_int(n_samples, "n_samples", "make_spiral")
    n_classes = positive_int(n_classes, "n_classes", "make_spiral")
    noise = real(noise, "noise", "make_spiral", low=0)
    rng = random.Random(seed)
    points, labels = [], []
    for k in range(n_classes):
        n = n_samples // n_classes + (k < n_samples % n_classes)
        for r in _linspace(0.0, 1.0, n):
            theta = 2 * math.pi * k / n_classes + 4 * r + rng.gauss(0.0, noise)
            points.append([r * math.cos(theta), r * math.sin(theta)])
            labels.append(k)
    return _shuffled(points, labels, rng)


def make_xor(n_samples: int = 100, noise: float = 0.2, seed: int | None = None) -> tuple[Points, list[int]]:
    """XOR: four clusters at the corners (±1, ±1); label 1 where the signs of x and y differ.

    The classic problem no single neuron can solve. The corners take turns, so each gets n/4
    points (±1). `noise`: std of Gaussian noise added to each coordinate around its corner.
    """
    n_samples = positive_int(n_samples, "n_samples", "make_xor")
    noise = real(noise, "noise", "make_xor", low=0)
    corners = [(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)]  # labels 0, 0, 1, 1
    points = [corners[i % 4] for i in range(n_samples)]
    labels = [int(x != y) for x, y in points]
    rng = random.Random(seed)
    return _shuffled(_jitter(points, noise, rng), labels, rng)


# ---------------------------------------------------------------------------------------------
# The real data sets.


def load_digits(scale: bool = False) -> tuple[Points, list[int]]:
    """The 8×8 handwritten digits: 1,797 images, labels 0–9 (about 180 of each).

    Each image is a row of 64 floats, the 8×8 pixels row by row, each the count of ink pixels in
    a 4×4 block of the 32×32 scan: an integer 0–16. `scale=False` (the default, as in
    scikit-learn) keeps 0–16; `scale=True` divides by 16 into [0, 1], the range an MLP trains on
    best. Read from `digits.csv.gz` in this package (UCI optical digits, the copy scikit-learn
    ships; source and licence in README.md beside it): no network, no scikit-learn needed.
    """
    boolean(scale, "scale", "load_digits")
    with resources.files(__name__).joinpath("digits.csv.gz").open("rb") as raw, gzip.open(raw, "rt") as f:
        rows = [line.split(",") for line in f]  # 64 pixels, then the label
    divisor = 16.0 if scale else 1.0
    X = [[int(p) / divisor for p in row[:64]] for row in rows]
    y = [int(row[64]) for row in rows]
    return X, y


def load_names() -> list[str]:
    """5,163 distinct first names, lowercase a–z, sorted: the data a character-level GPT learns
    to imitate (`notebooks/08_gpt_from_scratch.ipynb`).

    The US Census Bureau's 1990 lists of female and male first names (public domain), as shipped
    by the `names` package; read from `names.txt` in this package (source in README.md beside it).
    """
    text = resources.files(__name__).joinpath("names.txt").read_text(encoding="ascii")
    return text.split()


# ---------------------------------------------------------------------------------------------
# MNIST, in the IDX format of its distribution: a big-endian header (a magic number whose last
# byte is the number of dimensions, then each dimension as a 32-bit unsigned int), then the data
# as unsigned bytes. The shipped subset and a folder of the full set go through the same reader.

_SPLITS = ("train", "test", "all")
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049  # 0x00000803, 0x00000801: unsigned bytes, 3 or 1 dims
_KIND = {_IMAGES_MAGIC: "images", _LABELS_MAGIC: "labels"}
_SIDE = 28
_PIXELS = _SIDE * _SIDE
_PIXEL_FLOATS = [v / 255 for v in range(256)]  # a look-up per pixel, not a division; 256 floats shared
_SHIPPED = ("mnist5k-images-idx3-ubyte.xz", "mnist5k-labels-idx1-ubyte.xz")
_SHIPPED_TRAIN_PER_DIGIT = 400  # of each digit's 500: the first 400 train, the last 100 test
_FOLDER_FILES = {  # the names of MNIST's own distribution, before .gz
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _decompressed(raw: bytes, file: str) -> bytes:
    """The bytes of a file, un-gzipped or un-xz'd when they start with that format's magic bytes
    (so a gzipped file is read whatever its name, and a plain one too)."""
    try:
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        if raw[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(raw)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:  # corrupt or cut short
        raise ValueError(f"load_mnist: {file}: not a readable compressed file ({error})") from None
    return raw


def _idx_body(data: bytes, file: str, magic: int, item_shape: tuple[int, ...] = ()) -> tuple[int, int]:
    """The number of items in an IDX file and the offset of its data, after checking the magic
    number, the shape of each item and that the data is exactly as long as the header says."""
    kind, ndim = _KIND[magic], magic & 0xFF
    start = 4 * (1 + ndim)
    if len(data) < start:
        raise ValueError(
            f"load_mnist: {file}: truncated: {len(data)} bytes, "
            f"shorter than the {start}-byte header of an IDX {kind} file"
        )
    found, *dims = struct.unpack_from(f">{1 + ndim}I", data)
    if found != magic:
        hint = f" (the magic number of an IDX {_KIND[found]} file)" if found in _KIND else ""
        raise ValueError(f"load_mnist: {file}: wrong magic number {found}{hint}, expected {magic} for {kind}")
    n, shape = dims[0], tuple(dims[1:])
    if shape != item_shape:
        size, expected_size = ("×".join(map(str, sides)) for sides in (shape, item_shape))
        raise ValueError(f"load_mnist: {file}: {kind} are {size}, expected {expected_size}")
    expected, got = math.prod(dims), len(data) - start
    if got != expected:
        problem = "truncated" if got < expected else "too long"
        raise ValueError(
            f"load_mnist: {file}: {problem}: the header says {n} {kind} "
            f"({expected} bytes of data), the file holds {got} bytes after the header"
        )
    return n, start


def _read_idx(
    images_raw: bytes, labels_raw: bytes, images_file: str, labels_file: str
) -> tuple[memoryview, list[int]]:
    """The pixel bytes (image i at [784·i, 784·(i+1))) and the labels of an IDX pair, checked."""
    images = _decompressed(images_raw, images_file)
    n, start = _idx_body(images, images_file, _IMAGES_MAGIC, (_SIDE, _SIDE))
    labels_data = _decompressed(labels_raw, labels_file)
    _, label_start = _idx_body(labels_data, labels_file, _LABELS_MAGIC)
    labels = list(labels_data[label_start:])
    if labels and max(labels) > 9:
        i = next(i for i, t in enumerate(labels) if t > 9)
        raise ValueError(f"load_mnist: {labels_file}: label {labels[i]} at index {i} is not a digit 0–9")
    if len(labels) != n:
        raise ValueError(
            f"load_mnist: {images_file} holds {n} images but {labels_file} holds {len(labels)} labels"
        )
    return memoryview(images)[start:], labels


def _rows(pixels: memoryview, indices: Iterable[int]) -> Points:
    """Images as rows of 784 floats in [0, 1]: each byte looked up in the table of v/255."""
    to_float = _PIXEL_FLOATS.__getitem__
    return [list(map(to_float, pixels[i * _PIXELS : (i + 1) * _PIXELS])) for i in indices]


def _find(folder: Path, name: str) -> Path | list[str]:
    """The file for `name` in `folder`, or the names looked for if there is none. Plain first,
    then .gz; also the dotted spelling (`t10k-images.idx3-ubyte`) that some copies unpack to."""
    dotted = name.replace("-idx", ".idx")
    candidates = [name, name + ".gz", dotted, dotted + ".gz"]
    for candidate in candidates:
        if (folder / candidate).is_file():
            return folder / candidate
    return candidates


def _load_folder(path: str | os.PathLike, parts: tuple[str, ...]) -> tuple[Points, list[int]]:
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"load_mnist: no folder {str(folder)!r}")
    if not folder.is_dir():
        raise NotADirectoryError(
            f"load_mnist: {str(folder)!r} is a file; path must be the folder holding the MNIST files"
        )
    found = {name: _find(folder, name) for part in parts for name in _FOLDER_FILES[part]}
    missing = [
        f"{name} (looked for {', '.join(got)})" for name, got in found.items() if isinstance(got, list)
    ]
    if missing:  # all at once, so a wrong folder is reported in one go
        raise FileNotFoundError(f"load_mnist: missing in {str(folder)!r}: {'; '.join(missing)}")
    X: Points = []
    y: list[int] = []
    for part in parts:
        images_file, labels_file = (found[name] for name in _FOLDER_FILES[part])
        pixels, labels = _read_idx(
            images_file.read_bytes(), labels_file.read_bytes(), str(images_file), str(labels_file)
        )
        X += _rows(pixels, range(len(labels)))
        y += labels
    return X, y


def _load_shipped(parts: tuple[str, ...]) -> tuple[Points, list[int]]:
    here = resources.files(__name__)
    images_name, labels_name = _SHIPPED
    pixels, labels = _read_idx(
        here.joinpath(images_name).read_bytes(),
        here.joinpath(labels_name).read_bytes(),
        images_name,
        labels_name,
    )
    # The file is sorted by digit: split each digit's images, then deal them out round-robin.
    by_digit = [[i for i, t in enumerate(labels) if t == digit] for digit in range(10)]
    cut = _SHIPPED_TRAIN_PER_DIGIT
    ranges = {"train": range(cut), "test": range(cut, len(by_digit[0]))}
    order = [by_digit[digit][k] for part in parts for k in ranges[part] for digit in range(10)]
    return _rows(pixels, order), [labels[i] for i in order]


def load_mnist(split: str = "train", path: str | os.PathLike | None = None) -> tuple[Points, list[int]]:
    """Real MNIST handwritten digits: `(X, y)`, X a list of rows of 784 floats in [0, 1] (a 28×28
    grey-scale image row by row, pixel value / 255, 0.0 = background), y a list of ints 0–9.

    Without `path`: the 5,000 real MNIST images shipped in this package (500 of each digit; source,
    licence and how they were made in README.md beside it). The split is fixed: of each digit's
    500 images, the first 400 are `"train"` (4,000 images, 400 per digit) and the last 100
    `"test"` (1,000 images, 100 per digit); each split lists its images round-robin over the digits
    (labels 0, 1, …, 9, 0, 1, …), so any prefix is balanced. `"all"` is train followed by test.
    The "test" part is held out of this subset, not MNIST's own test set. Loading "all" takes
    about 0.15 s (measured on one core of a 2-core machine; "train" 0.12 s, "test" 0.07 s).

    With `path`: a folder holding the standard MNIST IDX files, `train-images-idx3-ubyte`,
    `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or
    gzipped (detected by its first bytes; names with `.gz` and the dotted spelling
    `t10k-images.idx3-ubyte` are found too). `"train"` reads the 60,000 train images, `"test"` the
    10,000 t10k images, `"all"` both, train first, each in file order. All 70,000 take about 2 s
    and, as lists, about 450 MB (784 pointers per row; the 256 possible floats are shared).

    Raises `FileNotFoundError` (naming the folder and every name looked for) if a file is missing,
    and `ValueError` naming the file and the problem if one is malformed: not a readable gzip
    (or xz) file, a wrong magic number (2051 for images, 2049 for labels), images not 28×28, a file cut
    short or too long for its header, a label outside 0–9, or images and labels of different
    counts. A `split` other than "train", "test" or "all" raises `ValueError`.
    """
    split = one_of(split, _SPLITS, "split", "load_mnist")
    parts = ("train", "test") if split == "all" else (split,)
    if path is None:
        return _load_shipped(parts)
    if not isinstance(path, (str, os.PathLike)):
        kind = type(path).__name__
        raise ArgumentTypeError(
            f"load_mnist: path must be a folder (a str or a path) or None, got {path!r} ({kind})"
        )
    return _load_folder(path, parts)


# ---------------------------------------------------------------------------------------------
# Splitting and batching: index shuffles, so X and y may be lists, tuples or Tensors.


def _check_pair(X: Sequence, y: Sequence, where: str) -> int:
    """The number of samples, after checking that X and y are sequences of one length."""
    for name, seq in (("X", X), ("y", y)):
        if not (hasattr(seq, "__len__") and hasattr(seq, "__getitem__")):
            kind = type(seq).__name__
            raise TypeError(f"{where}: {name} must be a sequence (list, tuple, Tensor, …), got {kind}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X and y have different lengths: {len(X)} samples and {len(y)} labels")
    return len(X)


def train_test_split(
    X: Sequence, y: Sequence, test_size: float | int = 0.2, seed: int | None = None
) -> tuple[list, list, list, list]:
    """Shuffle, then split into `(X_train, X_test, y_train, y_test)` (scikit-learn's order).

    `test_size`: a fraction in (0, 1), of which the test set gets ⌈test_size · n⌉ samples, or an
    int count. Both parts must end up non-empty.
    """
    n = _check_pair(X, y, "train_test_split")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        fraction = real(
            test_size, "test_size", "train_test_split", 0, 1, include_low=False, include_high=False
        )
        n_test = math.ceil(fraction * n)
    if not 0 < n_test < n:
        raise ValueError(
            f"train_test_split: test_size={test_size} puts {n_test} of {n} samples in the test set; "
            "both the train and the test set must be non-empty"
        )
    order = list(range(n))
    random.Random(seed).shuffle(order)
    train, test = order[n_test:], order[:n_test]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def batches(
    X: Sequence, y: Sequence, batch_size: int, shuffle: bool = True, seed: int | None = None
) -> Iterator[tuple[list, list]]:
    """Mini-batches `(Xb, yb)` of `batch_size` samples covering every sample once per pass; the
    last batch holds the remainder (like a DataLoader with drop_last=False).

    `shuffle=True` draws a new order from `random.Random(seed)`; `shuffle=False` keeps X's order.
    Arguments are checked here, at the call, not at the first `next()`.
    """
    n = _check_pair(X, y, "batches")
    batch_size = positive_int(batch_size, "batch_size", "batches")
    order = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(order)
    return (
        ([X[i] for i in chunk], [y[i] for i in chunk])
        for chunk in (order[start : start + batch_size] for start in range(0, n, batch_size))
    )
