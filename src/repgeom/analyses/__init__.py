"""Analysis kinds: each config section that turns stored artifacts into a store, metrics and a figure.

``ANALYSES`` maps a config section (``paths``, ``path_comparisons``,
``dimreduction``, ...) to its kind.  Every entry ``NAME`` of a section gets
one compute job (``rule analysis``: ``results/{section}/{NAME}.zarr`` and
``results/metrics/{section}/{NAME}.json``) and one figure job (``rule
analysis_figure``: ``results/figures/{section}/{NAME}.png``), wired by the
same two generic rules; so a new analysis is one module here that registers
an :class:`AnalysisKind` (and one import line below).  See ``docs/extending.md``.
"""

from .base import ANALYSES, AnalysisKind, register, row_makers  # noqa: F401

# The analyses of repgeom, in the order the report shows them.
from . import montage, path, path_comparison, reference_fit, dimreduction, fgsm_sweep, profile  # noqa: E402,F401
