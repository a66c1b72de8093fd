"""Statistical detectors for early warning (事前预警): pure numpy/scipy, no Django models.

Every detector handles too-short or all-zero series with an explicit ``INSUFFICIENT_DATA`` result
(``DetectorResult.insufficient`` / ``status()``), never a crash or an alarm. See docs/alerts.md.
"""

from .base import ALARM, INSUFFICIENT_DATA, NO_ALARM, DetectorResult, ParameterError
from .budget import apply_budget, benjamini_hochberg, daily_budget
from .cusum import nb_cusum
from .ears import ears, ears_all, ears_c1, ears_c2, ears_c3
from .expectation_scan import expectation_scan
from .farrington import farrington
from .noufaily import farrington_flexible, noufaily
from .pooling import blended_expectation, pooled_expectation, sparse_cells
from .spacetime import Cluster, ScanResult, neighbour_order, space_time_permutation_scan

__all__ = [
    "ALARM",
    "INSUFFICIENT_DATA",
    "NO_ALARM",
    "Cluster",
    "DetectorResult",
    "ParameterError",
    "ScanResult",
    "apply_budget",
    "benjamini_hochberg",
    "blended_expectation",
    "daily_budget",
    "ears",
    "ears_all",
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "expectation_scan",
    "farrington",
    "farrington_flexible",
    "nb_cusum",
    "neighbour_order",
    "noufaily",
    "pooled_expectation",
    "space_time_permutation_scan",
    "sparse_cells",
]
