"""Shared test settings: hypothesis profiles (`HYPOTHESIS_PROFILE=thorough` for a longer run).

On CI (the CI variable set) `make test` derandomizes the examples, so a landing is judged on the
same examples every time; exploring new ones is the job of local and thorough runs and of
`make test-deep` (CI runs it after `make test`): the property tests alone, on many fresh examples."""

import os

from hypothesis import HealthCheck, settings

common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}  # timing is not behaviour
fixed = {**common, "derandomize": True, "database": None}  # the same examples on every run

settings.register_profile("default", max_examples=60, **common)
settings.register_profile("thorough", max_examples=500, **common)
# `make test-deep`: many fresh examples; print_blob lets a failure found on CI be replayed exactly
settings.register_profile("deep", max_examples=1000, derandomize=False, print_blob=True, **common)
settings.register_profile("ci", max_examples=60, **fixed)
settings.register_profile("mutation", max_examples=20, **fixed)  # `make mutation`: the same for every mutant
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))
