"""Analysis kinds: each config section that turns stored artifacts into a store, metrics and a figure.

``ANALYSES`` maps a config section (``paths``, ``path_comparisons``,
``dimreduction``, ...) to its kind.  Every entry ``NAME`` of a section gets
one compute job (``rule analysis``: ``results/{section}/{NAME}.zarr`` and
``results/metrics/{section}/{NAME}.json``) and one figure job (``rule
analysis_figure``: ``results/figures/{section}/{NAME}.png``), wired by the
same two generic rules; so a new analysis is one module here that registers
an :class:`AnalysisKind` (and one import line below).  See ``docs/extending.md``.
"""

from __future__ import annotations

from ..registry import Registry

ANALYSES = Registry("analysis section")


class AnalysisKind:
    """What every analysis kind declares.

    * ``schema``: JSON schema of one entry of its config section;
    * ``modules``: the ``repgeom`` modules its jobs run (their source hashes are
      rerun triggers), e.g. ``("analyses/path", "paths", "compare")``;
    * ``requests(name, spec, plan)``: the artifacts it reads (plan requests);
    * ``job_spec(name, spec, plan, manifest_of)``: what its compute job needs,
      JSON-able, nodes resolved, display settings left out;
    * ``compute(job, inputs) -> (xarray.Dataset, metrics dict)``: the core;
    * ``display(name, spec, plan)`` and ``draw(store, display) -> Figure``: the figure;
    * ``summary_rows(record)``: its rows of ``results/metrics/summary.csv``.
    """

    section = ""
    record_kind = ""
    description = ""
    schema: dict = {}
    modules: tuple = ()
    caption = ""
    report_category = ""

    def check(self, name: str, spec: dict, cfg: dict) -> list:
        return []

    def requests(self, name, spec, plan) -> list:
        return []

    def job_spec(self, name, spec, plan, manifest_of=None) -> dict:
        raise NotImplementedError

    def threads(self, spec: dict, plan) -> int:
        """BLAS threads of the compute job (a fixed number: results must not depend on --cores)."""
        return 1

    def mem_mb(self, spec: dict, plan) -> int:
        """Memory the compute job asks the scheduler for."""
        return 2000

    def compute(self, job: dict, inputs: list):
        raise NotImplementedError

    def display(self, name, spec, plan) -> dict:
        return {}

    def draw(self, store, display: dict):
        raise NotImplementedError

    def summary_rows(self, record: dict) -> list:
        return []

    def report_numbers(self, record: dict) -> str:
        """The figure's numbers in a sentence or two, for its caption in the report."""
        return ""


def register(kind: AnalysisKind) -> AnalysisKind:
    """Register an analysis kind under its config section."""
    ANALYSES.register(kind.section, kind)
    return kind


def row_makers() -> dict:
    """{metrics record kind: rows function} of every registered analysis (for the summary table)."""
    return {k.record_kind: k.summary_rows for k in (ANALYSES[s] for s in ANALYSES)}


# The analyses of repgeom, in the order the report shows them.
from . import montage, path, path_comparison, dimreduction, fgsm_sweep, profile  # noqa: E402,F401
