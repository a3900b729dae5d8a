"""A complete scalar autograd engine in about 100 lines: the solution of notebook 00.

Nothing here comes from the rest of the package. It is the whole idea, written to be read, in
micrograd's design: a `Value` holds a number, the Values it was made from (`children`), and a
function `_backward` that passes the node's gradient on to its children by the chain rule,

    child.grad += (∂node/∂child) · node.grad

`backward(root)` seeds ∂root/∂root = 1 and calls those functions from the output down, in
reverse topological order, so that each node's gradient is complete before it is passed on.
The main engine (`puretorch_scalar.engine`) is the same algorithm with the derivatives in one
table instead of one closure per node; a test checks that both give the same gradients.
"""

import math


class Value:
    """One number of a computation, the Values it was computed from, and its gradient."""

    def __init__(self, data: float, children: tuple = (), op: str = ""):
        self.data = float(data)
        self.grad = 0.0  # ∂(the output of the last backward)/∂(this Value)
        self.children = children
        self.op = op
        self._backward = lambda: None  # a leaf has nobody to pass its gradient to

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:  # ∂(a+b)/∂a = ∂(a+b)/∂b = 1
            self.grad += out.grad  # +=: a Value used twice (a + a) gets both contributions
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: "Value | float") -> "Value":
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data**other.data, (self, other), "**")

        def _backward() -> None:  # ∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a (defined for a > 0)
            self.grad += other.data * self.data ** (other.data - 1) * out.grad
            if self.data > 0:
                other.grad += out.data * math.log(self.data) * out.grad

        out._backward = _backward
        return out

    def _unary(self, data: float, op: str, derivative: float) -> "Value":
        """A node of one child whose local derivative ∂out/∂self is the number `derivative`."""
        out = Value(data, (self,), op)

        def _backward() -> None:
            self.grad += derivative * out.grad

        out._backward = _backward
        return out

    def exp(self) -> "Value":
        e = math.exp(self.data)
        return self._unary(e, "exp", e)  # ∂eˣ/∂x = eˣ

    def log(self) -> "Value":
        return self._unary(math.log(self.data), "log", 1 / self.data)  # ∂ln x/∂x = 1/x

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        return self._unary(t, "tanh", 1 - t * t)  # ∂tanh x/∂x = 1 − tanh²x

    def relu(self) -> "Value":
        return self._unary(max(self.data, 0.0), "relu", float(self.data > 0))

    def __neg__(self) -> "Value":
        return self * -1

    def __sub__(self, other: "Value | float") -> "Value":
        return self + (-other)

    def __truediv__(self, other: "Value | float") -> "Value":
        return self * other**-1

    def __radd__(self, other: float) -> "Value":  # 2 + v
        return self + other

    def __rmul__(self, other: float) -> "Value":  # 2 * v
        return self * other

    def __rsub__(self, other: float) -> "Value":  # 2 - v
        return other + (-self)

    def __rtruediv__(self, other: float) -> "Value":  # 2 / v
        return other * self**-1

    def __rpow__(self, other: float) -> "Value":  # 2 ** v
        return Value(other) ** self

    def backward(self) -> None:
        backward(self)


def topological_order(root: Value) -> list:
    """Every Value below `root` (and `root`), each after all of its children.

    Depth-first search with a stack instead of recursion, so that any depth works: a node goes
    back on the stack, marked, under its children, and is put in the order when it comes off
    again, after all of them."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # back to it after its children
            stack.extend((child, False) for child in node.children)
    return order


def backward(root: Value) -> None:
    """Fill every `.grad` below `root` with ∂root/∂(that Value). Gradients add up over calls
    (the += of `_backward`): set them to 0 before backpropagating the same graph again."""
    root.grad = 1.0
    for node in reversed(topological_order(root)):  # every node after all the nodes that use it
        node._backward()
