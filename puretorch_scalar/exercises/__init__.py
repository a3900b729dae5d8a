"""Exercises for the notebooks, with checkers that explain what is wrong, and a bug hunt.

    from puretorch_scalar import exercises

    exercises.list()                     # every exercise's name; exercises.list("03"): notebook 3's
    exercises.check("value_mul", Value)  # prints ✓ and ✗ lines with the expected values; a bool
    exercises.solution("value_mul")      # prints a solution

    with exercises.bug_hunt(3) as hunt:  # one derivative rule of the engine is now wrong
        ...                              # find it: gradcheck, testing.expressions(), the player
    hunt.check("tanh")                   # right or wrong?

Each notebook closes with its exercises, easy to hard; notebook 00 is exercises throughout.
"""

# each module registers the exercises of one notebook, in the order of the notebooks
from puretorch_scalar.exercises import (  # noqa: F401
    n00_engine,
    n00b_by_hand,
    n01_backward,
    n02_graphs,
    n03_tensors,
    n04_moons,
    n05_gradcheck,
    n06_digits,
    n07_higher_order,
    n08_gpt,
    n09_debugging,
    n10_forward_mode,
    n11_mnist,
    n12_jit,
)
from puretorch_scalar.exercises.bug_hunt import BUGS, bug_hunt
from puretorch_scalar.exercises.core import EXERCISES, Exercise, check, solution
from puretorch_scalar.exercises.core import names as list

__all__ = ["check", "list", "solution", "bug_hunt", "BUGS", "EXERCISES", "Exercise"]
