"""Shared test settings: hypothesis profiles (`HYPOTHESIS_PROFILE=thorough` for a longer run).

On CI (the CI variable set) the examples are derandomized, so a landing is judged on the same
examples every time; exploring new ones is the job of local and thorough runs."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# `make mutation`: fewer examples, the same ones for every mutant
settings.register_profile(
    "mutation",
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
