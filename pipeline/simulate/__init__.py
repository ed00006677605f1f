"""Realistic filled-in returns with their ground truth, for tests, `make demo` and the benchmark."""

from pipeline.simulate.returns import *  # noqa: F403
from pipeline.simulate.returns import __all__  # noqa: F401
