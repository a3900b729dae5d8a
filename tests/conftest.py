"""Shared test settings: hypothesis profiles (`HYPOTHESIS_PROFILE=thorough` for a longer run).

On CI (the CI variable set) the examples are derandomized, so a landing is judged on the same
examples every time; exploring new ones is the job of local and thorough runs."""

import os

from hypothesis import HealthCheck, settings

common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}  # timing is not behaviour
fixed = {**common, "derandomize": True, "database": None}  # the same examples on every run

settings.register_profile("default", max_examples=60, **common)
settings.register_profile("thorough", max_examples=500, **common)
settings.register_profile("ci", max_examples=60, **fixed)
settings.register_profile("mutation", max_examples=20, **fixed)  # `make mutation`: the same for every mutant
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
