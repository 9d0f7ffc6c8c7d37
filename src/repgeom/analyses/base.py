"""What every analysis kind declares, and their registry ``ANALYSES`` (the package imports every kind)."""

from __future__ import annotations

from ..registry import Registry

ANALYSES = Registry("analysis section")


class AnalysisKind:
    """What every analysis kind declares.

    * ``schema``: JSON schema of one entry of its config section;
    * ``requests(name, spec, plan)``: the artifacts it reads (plan requests);
    * ``job_spec(name, spec, plan, manifest_of)``: what its compute job needs,
      JSON-able, nodes resolved, display settings left out;
    * ``compute(job, inputs) -> (xarray.Dataset, metrics dict)``: the core;
    * ``display(name, spec, plan)`` and ``draw(store, display) -> Figure``: the figure (or an entry of
      :data:`repgeom.figures.FIGURES`);
    * ``summary_rows(record)``: its rows of ``results/metrics/summary.csv``.

    Its report caption lives with the report (:mod:`repgeom.captions`); the jobs' rerun triggers are the
    modules its module imports (:mod:`repgeom.codehash`).
    """

    section = ""
    record_kind = ""
    description = ""
    schema: dict = {}

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
        """The figure (a kind of repgeom's own registers its drawing in ``repgeom.figures.FIGURES`` instead, so
        its compute jobs never import the figures: a figure edit reruns only figure jobs)."""
        raise NotImplementedError

    def summary_rows(self, record: dict) -> list:
        return []


def register(kind: AnalysisKind) -> AnalysisKind:
    """Register an analysis kind under its config section."""
    ANALYSES.register(kind.section, kind)
    return kind


def row_makers() -> dict:
    """{metrics record kind: rows function} of every registered analysis (for the summary table)."""
    return {k.record_kind: k.summary_rows for k in (ANALYSES[s] for s in ANALYSES)}
