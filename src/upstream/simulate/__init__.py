"""A simulated support operation with known truth (``operation``): every study is checked against
what the simulator really did. ``simulate(spec)`` returns the canonical tables and the truth;
``simulate_to_folder(out, preset)`` writes them."""
from .model import CSAT_THRESHOLDS, expected_csat
from .operation import PRESETS, OperationSpec, SimulatedOperation, simulate, truth_frame
from .partitioned import simulate_partitioned, simulate_to_folder

__all__ = ["simulate", "simulate_to_folder", "simulate_partitioned", "truth_frame", "expected_csat", "OperationSpec",
           "SimulatedOperation", "PRESETS", "CSAT_THRESHOLDS"]
