"""Layers for images: `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten`, and the functional forms
`conv2d`, `conv1d`, `max_pool2d` and `avg_pool2d` (also in `nn.functional`).

A batch of images is an (N, C, H, W) Tensor: N images of C channels of H rows of W pixels. One
image may be given as (C, H, W) and then comes out without the batch axis, as in PyTorch.

A convolution slides a (C, kH, kW) kernel over the image, `stride` pixels at a time, after
padding the image with `padding` zeros on every side. Output pixel (o, i, j) is

    out[o, i, j] = Σ_c Σ_u Σ_v x[c, i·sH + u − pH, j·sW + v − pW] · w[o, c, u, v] + b[o]

built as ONE `dot` node over [patch, 1]·[kernel, b] (the bias is the weight of a constant 1, as
in `Linear`). The padding zeros add nothing to the sum, so they are left out of the node: its
children are the patch's real pixels and the kernel weights that meet them. Along each axis
the output has ⌊(H + 2p − k) / s⌋ + 1 pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from puretorch_scalar.checks import ArgumentTypeError, boolean, non_negative_int, positive_int
from puretorch_scalar.engine import Constant, Value
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "conv2d", "conv1d", "max_pool2d", "avg_pool2d"]

Size2 = int | tuple[int, int]


def _pair(value: object, name: str, where: str, zero_allowed: bool = False) -> tuple[int, int]:
    """An int n as (n, n), or a pair of ints as it is: a size along (height, width)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ArgumentTypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    check = non_negative_int if zero_allowed else positive_int
    return check(items[0], name, where), check(items[1], name, where)


def _check_input(x: Tensor, spatial: str, where: str) -> None:
    """x must be (C, *spatial) or (N, C, *spatial); `spatial` names the axes, e.g. "H, W"."""
    n_spatial = spatial.count(",") + 1
    if x.ndim not in (n_spatial + 1, n_spatial + 2):
        raise ValueError(f"{where}: input must have shape (C, {spatial}) or (N, C, {spatial}), got {x.shape}")


def _check_fits(x: Tensor, kernel: Sequence[int], padding: Sequence[int], where: str) -> None:
    """The kernel must fit inside the padded input along every spatial axis."""
    sizes = x.shape[-len(kernel) :]
    padded = tuple(n + 2 * p for n, p in zip(sizes, padding))
    if any(k > n for k, n in zip(kernel, padded)):
        raise ValueError(
            f"{where}: kernel {tuple(kernel)} is larger than the padded input {padded} "
            f"(input shape {x.shape}, padding {tuple(padding)})"
        )


def _batched(x: Tensor, n_spatial: int) -> Tensor:
    """x with a batch axis: one image (C, …) becomes a batch of one (1, C, …); no new nodes."""
    return x if x.ndim == n_spatial + 2 else x[None]


def _windows(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> tuple[list[list[tuple[int, int]]], tuple[int, int]]:
    """The windows a kernel visits over one (H, W) plane, and the output size (out_h, out_w).

    Window (i, j), listed row-major, holds a (pixel, cell) pair for every kernel cell that falls
    on the image (not on the padding): pixel = y·W + x and cell = u·kW + v, flat positions in
    the plane and in the kernel."""
    (h, w), (kh, kw), (sh, sw), (ph, pw) = size, kernel, stride, padding
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    windows = []
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * sh - ph, j * sw - pw
            windows.append(
                [
                    ((top + u) * w + left + v, u * kw + v)
                    for u in range(kh)
                    for v in range(kw)
                    if 0 <= top + u < h and 0 <= left + v < w
                ]
            )
    return windows, (out_h, out_w)


def _convolve(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride: tuple[int, int], padding: tuple[int, int]
) -> Tensor:
    """(N, C, H, W) * (O, C, kH, kW) → (N, O, out_h, out_w), one dot node per output pixel."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    windows, (out_h, out_w) = _windows((h, w), (kh, kw), stride, padding)
    plane, cells = h * w, kh * kw
    # per output position: the patch's flat positions in one image (C, H, W) and the matching
    # positions in one kernel (C, kH, kW), channel by channel
    pixels = [[ch * plane + p for ch in range(c) for p, _ in window] for window in windows]
    weights = [[ch * cells + k for ch in range(c) for _, k in window] for window in windows]
    xs, ws = x.values(), weight.values()
    kernels = [ws[f * c * cells : (f + 1) * c * cells] for f in range(o)]  # (O, C·kH·kW)
    biases = [[b] for b in bias.values()] if bias is not None else [[]] * o
    one = [Constant(1.0)] if bias is not None else []
    # what each output position multiplies: its patch of the image (per image), and the kernel's
    # weights that fall on the patch (per filter, the same for every image)
    rows = [
        [[kernel[k] for k in cells_used] + b for cells_used in weights] for kernel, b in zip(kernels, biases)
    ]
    out = []
    for s in range(n):
        image = xs[s * c * plane : (s + 1) * c * plane]  # (C·H·W)
        patches = [[image[i] for i in patch] + one for patch in pixels]  # (positions, C·kH·kW [+ 1])
        for kernel_rows in rows:  # (positions, C·kH·kW [+ 1]) for one filter
            out += [Value.dot(patch, row) for patch, row in zip(patches, kernel_rows)]
    return Tensor.from_values(out, (n, o, out_h, out_w))


def _check_conv(x: Tensor, weight: Tensor, bias: Tensor | None, padding: Sequence[int], where: str) -> None:
    """x (C, *spatial) or (N, C, *spatial); weight (O, C, *kernel); bias (O,); the kernel fits."""
    n_spatial = len(padding)
    _check_input(x, "H, W" if n_spatial == 2 else "L", where)
    kernel = "kH, kW" if n_spatial == 2 else "k"
    if weight.ndim != n_spatial + 2:
        raise ValueError(
            f"{where}: weight must have shape (out_channels, in_channels, {kernel}), got {weight.shape}"
        )
    channels = x.shape[-n_spatial - 1]
    if weight.shape[1] != channels:
        raise ValueError(
            f"{where}: input has {channels} channels (shape {x.shape}) but the weight of shape "
            f"{weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(
            f"{where}: bias must have shape ({weight.shape[0]},), one per output channel, got {bias.shape}"
        )
    _check_fits(x, weight.shape[2:], padding, where)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Size2 = 1, padding: Size2 = 0) -> Tensor:
    """2-D convolution (PyTorch's cross-correlation): x (N, C, H, W) or (C, H, W), weight
    (O, C, kH, kW), bias (O,) or None → (N, O, out_h, out_w) or (O, out_h, out_w). `stride` and
    `padding` are an int or an (h, w) pair. See the module docstring for the sum."""
    stride = _pair(stride, "stride", "conv2d")
    padding = _pair(padding, "padding", "conv2d", zero_allowed=True)
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_conv(x, weight, bias, padding, "conv2d")
    out = _convolve(_batched(x, 2), weight, bias, stride, padding)  # (N, O, out_h, out_w)
    return out if x.ndim == 4 else out.reshape(out.shape[1:])


def conv1d(x: Any, weight: Any, bias: Any = None, stride: int = 1, padding: int = 0) -> Tensor:
    """1-D convolution: x (N, C, L) or (C, L), weight (O, C, k), bias (O,) or None → (N, O,
    out_l) or (O, out_l), with out_l = ⌊(L + 2·padding − k) / stride⌋ + 1. Computed as a
    conv2d of height 1 (the same nodes: one dot per output element)."""
    stride = positive_int(stride, "stride", "conv1d")
    padding = non_negative_int(padding, "padding", "conv1d")
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    _check_conv(x, weight, bias, (padding,), "conv1d")
    rows = _batched(x, 1)[:, :, None]  # (N, C, 1, L)
    out = _convolve(rows, weight[:, :, None], bias, (1, stride), (0, padding))  # (N, O, 1, out_l)
    out = out.reshape(out.shape[0], out.shape[1], out.shape[3])  # (N, O, out_l)
    return out if x.ndim == 3 else out.reshape(out.shape[1:])


def _pool(
    x: Any, kernel_size: Size2, stride: Size2 | None, where: str, reduce: Callable[[Tensor], Tensor]
) -> Tensor:
    """Every channel's (kH, kW) windows, `stride` apart, gathered into a last axis and reduced."""
    kernel = _pair(kernel_size, "kernel_size", where)
    stride = kernel if stride is None else _pair(stride, "stride", where)
    x = as_tensor(x)
    _check_input(x, "H, W", where)
    _check_fits(x, kernel, (0, 0), where)
    batch = _batched(x, 2)
    n, c, h, w = batch.shape
    windows, (out_h, out_w) = _windows((h, w), kernel, stride, (0, 0))
    xs = batch.values()
    gathered = [xs[plane * h * w + p] for plane in range(n * c) for window in windows for p, _ in window]
    out = reduce(
        Tensor.from_values(gathered, (n, c, out_h, out_w, kernel[0] * kernel[1]))
    )  # (N, C, out_h, out_w)
    return out if x.ndim == 4 else out.reshape(out.shape[1:])


def max_pool2d(x: Any, kernel_size: Size2, stride: Size2 | None = None) -> Tensor:
    """The largest pixel of each (kH, kW) window, per channel; `stride` defaults to the kernel
    size (windows side by side). (N, C, H, W) → (N, C, ⌊(H − kH) / sH⌋ + 1, ⌊(W − kW) / sW⌋ + 1).
    No node is created: each output is the selected input Value itself, as in `Tensor.max`, so
    the gradient goes to that pixel only (the first largest on ties)."""
    return _pool(x, kernel_size, stride, "max_pool2d", lambda windows: windows.max(axis=-1))


def avg_pool2d(x: Any, kernel_size: Size2, stride: Size2 | None = None) -> Tensor:
    """The mean of each (kH, kW) window, per channel, shaped as `max_pool2d`'s output; each
    pixel of a window receives 1/(kH·kW) of the output's gradient."""
    return _pool(x, kernel_size, stride, "avg_pool2d", lambda windows: windows.mean(axis=-1))


class Conv2d(Module):
    """A 2-D convolution layer: `conv2d` with a learned `weight` (out_channels, in_channels,
    kH, kW) and, with `bias`, a learned `bias` (out_channels,). Both are drawn uniformly from
    [−1/√fan_in, 1/√fan_in], fan_in = in_channels·kH·kW, which is what PyTorch's default
    (kaiming-uniform with a = √5) comes to. (N, C, H, W) → (N, out_channels, out_h, out_w)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2,
        stride: Size2 = 1,
        padding: Size2 = 0,
        bias: bool = True,
    ):
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _pair(stride, "stride", "Conv2d")
        self.padding = _pair(padding, "padding", "Conv2d", zero_allowed=True)
        bias = boolean(bias, "bias", "Conv2d")
        bound = 1 / math.sqrt(self.in_channels * math.prod(self.kernel_size))  # Python's `random`
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(Tensor.uniform(shape, low=-bound, high=bound))
        self.bias = Parameter(Tensor.uniform(self.out_channels, low=-bound, high=bound)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


class _Pool2d(Module):
    """What the two pooling layers share: a kernel size and a stride (the kernel size if None)."""

    function: Callable[[Any, Size2, Size2 | None], Tensor]

    def __init__(self, kernel_size: Size2, stride: Size2 | None = None):
        where = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", where)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", where)

    def forward(self, x: Any) -> Tensor:
        return type(self).function(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    """`max_pool2d` as a layer: the largest pixel of each window, per channel."""

    function = staticmethod(max_pool2d)


class AvgPool2d(_Pool2d):
    """`avg_pool2d` as a layer: the mean of each window, per channel."""

    function = staticmethod(avg_pool2d)


class Flatten(Module):
    """Axes `start_dim` … `end_dim` merged into one, as `torch.nn.Flatten`: by default
    (N, C, H, W) → (N, C·H·W), the step from convolutions to `Linear` layers. No new nodes."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
