"""A simulated support operation with known truth (``operation``): every study is checked against
what the simulator really did. ``simulate(spec)`` returns the canonical tables and the truth;
``simulate_to_folder(out, preset)`` writes them."""
from .operation import (CSAT_THRESHOLDS, PRESETS, OperationSpec, SimulatedOperation, expected_csat, simulate,
                        simulate_to_folder, truth_frame)

__all__ = ["simulate", "simulate_to_folder", "truth_frame", "expected_csat", "OperationSpec", "SimulatedOperation",
           "PRESETS", "CSAT_THRESHOLDS"]
