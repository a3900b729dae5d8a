"""Data sets, train/test split and batching: shapes, geometry, determinism, and argument errors."""

import math
import random
import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import data

TOY = [data.make_moons, data.make_circles, data.make_spiral, data.make_xor]


# -- toy generators: common behaviour ----------------------------------------------------------


@pytest.mark.parametrize("make", TOY)
def test_toy_sets_are_plain_lists_of_points_and_int_labels(make):
    X, y = make(n_samples=60, seed=0)
    assert type(X) is list and type(y) is list
    assert len(X) == len(y) == 60
    assert all(type(row) is list and len(row) == 2 and all(type(v) is float for v in row) for row in X)
    assert all(type(t) is int for t in y)


@pytest.mark.parametrize("make", TOY)
def test_same_seed_same_data_other_seed_other_data(make):
    assert make(seed=3) == make(seed=3)
    assert make(seed=3)[0] != make(seed=4)[0]


@pytest.mark.parametrize("make", TOY)
def test_generators_leave_the_global_random_state_alone(make):
    random.seed(1)
    expected = random.random()
    random.seed(1)
    make(seed=0)
    make()  # seed=None: fresh randomness from its own generator
    assert random.random() == expected


@pytest.mark.parametrize("make", TOY)
def test_points_come_shuffled(make):
    _, y = make(n_samples=200, seed=0)
    assert y != sorted(y)  # neither class-by-class nor in generation order
    assert len(set(y[:20])) > 1


@pytest.mark.parametrize(
    "make, counts",
    [
        (data.make_moons, {0: 50, 1: 51}),
        (data.make_circles, {0: 50, 1: 51}),
        (data.make_xor, {0: 51, 1: 50}),  # corners in turn: (−1,−1) (1,1) (−1,1) (1,−1)
        (data.make_spiral, {0: 34, 1: 34, 2: 33}),
    ],
)
def test_classes_are_balanced(make, counts):
    _, y = make(n_samples=101, seed=0)
    assert Counter(y) == counts


@pytest.mark.parametrize("make", [data.make_moons, data.make_circles, data.make_xor])
def test_noise_is_gaussian_with_the_given_std_on_each_coordinate(make):
    # Same seed, same number of draws: the noisy set is the clean one, point for point, plus noise.
    clean, y0 = make(n_samples=2000, noise=0.0, seed=5)
    noisy, y1 = make(n_samples=2000, noise=0.3, seed=5)
    assert y0 == y1
    deltas = [b - a for p, q in zip(clean, noisy) for a, b in zip(p, q)]
    assert abs(statistics.mean(deltas)) < 0.02
    assert statistics.stdev(deltas) == pytest.approx(0.3, rel=0.05)


# -- toy generators: the shapes themselves -----------------------------------------------------


def test_moons_lie_on_two_unit_half_circles():
    X, y = data.make_moons(n_samples=40, noise=0.0, seed=0)
    for (a, b), t in zip(X, y):
        cx, cy = (0.0, 0.0) if t == 0 else (1.0, 0.5)
        assert math.hypot(a - cx, b - cy) == pytest.approx(1.0)
        assert (b >= -1e-12) if t == 0 else (b <= 0.5 + 1e-12)  # upper arc / lower arc
    assert min(a for (a, _), t in zip(X, y) if t == 0) == pytest.approx(-1.0)
    assert max(a for (a, _), t in zip(X, y) if t == 1) == pytest.approx(2.0)


def test_circles_have_radius_one_and_factor():
    X, y = data.make_circles(n_samples=30, noise=0.0, factor=0.3, seed=0)
    for (a, b), t in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if t == 0 else 0.3)


def test_spiral_arm_angle_grows_with_radius():
    X, y = data.make_spiral(n_samples=90, n_classes=3, noise=0.0, seed=0)
    assert Counter(y) == {0: 30, 1: 30, 2: 30}
    for (a, b), k in zip(X, y):
        r = math.hypot(a, b)
        assert r <= 1 + 1e-12
        if r > 1e-9:  # θ = 2πk/3 + 4r, compared on the circle
            expected = 2 * math.pi * k / 3 + 4 * r
            assert math.cos(math.atan2(b, a) - expected) == pytest.approx(1.0)
    assert sorted(round(math.hypot(a, b), 9) for (a, b), k in zip(X, y) if k == 0)[-1] == 1.0


def test_spiral_noise_blurs_the_angle_only():
    clean, _ = data.make_spiral(n_samples=60, noise=0.0, seed=2)
    noisy, _ = data.make_spiral(n_samples=60, noise=0.5, seed=2)
    assert sorted(round(math.hypot(*p), 9) for p in clean) == sorted(round(math.hypot(*p), 9) for p in noisy)
    assert sorted(map(tuple, clean)) != sorted(map(tuple, noisy))


def test_spiral_with_more_classes_than_points_leaves_arms_empty():
    _, y = data.make_spiral(n_samples=2, n_classes=5, seed=0)
    assert sorted(y) == [0, 1]


def test_xor_labels_are_sign_disagreement():
    X, y = data.make_xor(n_samples=12, noise=0.0, seed=0)
    assert {tuple(p) for p in X} == {(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)}
    assert all(t == int(a * b < 0) for (a, b), t in zip(X, y))


def test_single_sample_works():
    for make in TOY:
        X, y = make(n_samples=1, seed=0)
        assert len(X) == len(y) == 1


# -- toy generators: errors --------------------------------------------------------------------


@pytest.mark.parametrize("make", TOY)
@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        ({"n_samples": 0}, ValueError, "n_samples must be a positive int, got 0"),
        ({"n_samples": 10.0}, TypeError, r"n_samples must be a positive int, got 10.0 \(float\)"),
        ({"n_samples": True}, TypeError, r"n_samples must be a positive int, got True \(bool\)"),
        ({"noise": -0.1}, ValueError, "noise must be a real number >= 0, got -0.1"),
        ({"noise": math.nan}, ValueError, "noise must be a real number >= 0, got nan"),
        ({"noise": math.inf}, ValueError, "noise must be a real number >= 0, got inf"),
        ({"noise": "0.1"}, TypeError, r"noise must be a real number >= 0, got '0.1' \(str\)"),
    ],
)
def test_bad_generator_arguments_raise_naming_them(make, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        make(**kwargs)


def test_bad_factor_and_n_classes():
    with pytest.raises(ValueError, match=r"make_circles: factor must be a real number in \[0, 1\), got 1.0"):
        data.make_circles(factor=1.0)
    with pytest.raises(ValueError, match=r"factor must be a real number in \[0, 1\), got -0.5"):
        data.make_circles(factor=-0.5)
    with pytest.raises(ValueError, match="make_spiral: n_classes must be a positive int, got 0"):
        data.make_spiral(n_classes=0)


# -- load_digits -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_digits_are_the_real_1797_images(digits):
    X, y = digits
    assert len(X) == len(y) == 1797
    assert all(len(row) == 64 for row in X)
    assert all(v in range(17) for row in X for v in row)  # pixel counts 0..16
    counts = Counter(y)
    assert sorted(counts) == list(range(10))
    assert all(170 <= c <= 190 for c in counts.values())
    assert counts == {0: 178, 1: 182, 2: 177, 3: 183, 4: 181, 5: 182, 6: 181, 7: 179, 8: 174, 9: 180}


def test_first_digit_is_a_zero_with_known_pixels(digits):
    X, y = digits
    assert y[0] == 0
    assert X[0][:16] == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    assert all(type(v) is float for v in X[0])


def test_digits_scaled_into_unit_interval(digits):
    X, y = digits
    Xs, ys = data.load_digits(scale=True)
    assert ys == y
    assert all(s == v / 16 for row, srow in zip(X, Xs) for v, s in zip(row, srow))
    assert max(max(row) for row in Xs) == 1.0


def test_each_call_returns_fresh_lists(digits):
    X, _ = data.load_digits()
    X[0][0] = 99.0
    assert data.load_digits()[0][0][0] == 0.0


def test_digits_scale_must_be_bool():
    with pytest.raises(TypeError, match=r"load_digits: scale must be True or False, got 1 \(int\)"):
        data.load_digits(scale=1)


# -- train_test_split --------------------------------------------------------------------------


def numbered(n):
    """X rows that say which sample they are, and labels that match them."""
    return [[float(i), -float(i)] for i in range(n)], [i % 3 for i in range(n)]


@pytest.mark.parametrize(
    "test_size, n_test", [(0.2, 20), (0.25, 25), (0.333, 34), (0.001, 1), (7, 7), (99, 99)]
)
def test_split_sizes(test_size, n_test):
    X, y = numbered(100)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=test_size, seed=0)
    assert (len(X_test), len(y_test), len(X_train), len(y_train)) == (
        n_test,
        n_test,
        100 - n_test,
        100 - n_test,
    )


def test_split_is_a_shuffled_partition_that_keeps_pairs():
    X, y = numbered(50)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, seed=1)
    assert sorted(X_train + X_test) == X
    assert all(t == int(row[0]) % 3 for row, t in zip(X_train + X_test, y_train + y_test))
    assert X_test != X[:10] and X_train != X[10:]


def test_split_is_seeded():
    X, y = numbered(30)
    assert data.train_test_split(X, y, seed=4) == data.train_test_split(X, y, seed=4)
    assert data.train_test_split(X, y, seed=4) != data.train_test_split(X, y, seed=5)


def test_split_accepts_tuples():
    X_train, X_test, y_train, y_test = data.train_test_split(((1.0,), (2.0,)), (0, 1), test_size=1, seed=0)
    assert sorted(X_train + X_test) == [(1.0,), (2.0,)]


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        ({"y": [0, 1]}, ValueError, "X and y have different lengths: 10 samples and 2 labels"),
        ({"X": (row for row in [[1.0]])}, TypeError, "X must be a sequence .* got generator"),
        ({"test_size": 0.0}, ValueError, r"test_size must be a real number in \(0, 1\), got 0.0"),
        ({"test_size": 1.0}, ValueError, r"test_size must be a real number in \(0, 1\), got 1.0"),
        ({"test_size": 0}, ValueError, "puts 0 of 10 samples in the test set"),
        ({"test_size": 10}, ValueError, "puts 10 of 10 samples in the test set"),
        ({"test_size": 0.99}, ValueError, "puts 10 of 10 samples in the test set"),
        ({"test_size": True}, TypeError, r"test_size must be a real number in \(0, 1\), got True \(bool\)"),
        ({"test_size": "0.2"}, TypeError, r"test_size must be a real number in \(0, 1\), got '0.2' \(str\)"),
    ],
)
def test_bad_split_arguments(kwargs, exc, fragment):
    X, y = numbered(10)
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(exc, match=fragment):
        data.train_test_split(**args)


# -- batches -----------------------------------------------------------------------------------


@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 9))
def test_batches_cover_every_sample_once_in_full_batches_then_the_rest(n, batch_size, shuffle, seed):
    X, y = numbered(n)
    out = list(data.batches(X, y, batch_size, shuffle=shuffle, seed=seed))
    sizes = [len(Xb) for Xb, _ in out]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert all(len(Xb) == len(yb) for Xb, yb in out)
    rows = [row for Xb, _ in out for row in Xb]
    assert sorted(rows) == X
    assert [t for _, yb in out for t in yb] == [int(row[0]) % 3 for row in rows]  # pairs kept
    if not shuffle:
        assert rows == X


def test_batches_shuffle_is_seeded_and_changes_order():
    X, y = numbered(40)
    first = list(data.batches(X, y, 8, seed=0))
    assert first == list(data.batches(X, y, 8, seed=0))
    assert first != list(data.batches(X, y, 8, seed=1))
    assert [row for Xb, _ in first for row in Xb] != X


def test_batches_checks_arguments_at_the_call_not_at_first_next():
    X, y = numbered(5)
    with pytest.raises(ValueError, match="X and y have different lengths: 5 samples and 4 labels"):
        data.batches(X, y[:4], 2)
    with pytest.raises(ValueError, match="batches: batch_size must be a positive int, got 0"):
        data.batches(X, y, 0)
    with pytest.raises(TypeError, match=r"batch_size must be a positive int, got 2.0 \(float\)"):
        data.batches(X, y, 2.0)
    with pytest.raises(TypeError, match="y must be a sequence .* got set"):
        data.batches(X, {1, 2}, 2)
