"""Pictures of the computation graph: `draw_graph` draws it, `backward_steps` replays backward on
it, and `explore` redraws it live as sliders move its inputs."""

from puretorch_scalar.viz.explore import Explorer, explore
from puretorch_scalar.viz.graph import Graph, GraphvizNotFoundError, draw_graph
from puretorch_scalar.viz.steps import BackwardSteps, Frame, backward_steps

__all__ = [
    "BackwardSteps",
    "Explorer",
    "Frame",
    "Graph",
    "GraphvizNotFoundError",
    "backward_steps",
    "draw_graph",
    "explore",
]
