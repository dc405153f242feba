"""Plain-language sentences computed from a study's numbers, for the Key findings sections: each study's
own sentences live in its package (``upstream.studies.<name>.sentences``); the formatting they share
(percentages, intervals, score points, p-values, lists) is ``common``. A sentence never states more than
its numbers support: each says what its condition is, and the tests check the condition that triggers it."""
from .common import pct, pct_interval

__all__ = ["pct", "pct_interval"]
