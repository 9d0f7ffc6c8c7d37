"""The artifacts a workflow makes, as the planner and every analysis name them: below both (it imports only
the reductions' registry), so the planner imports the analyses and the analyses import these types.

* :class:`ModelCube` (an RDM method's cube of a model on a set, over some nodes);
* :class:`FeatureStore`: a model's features on a set, read directly (a streamed path: no cube);
* :class:`LabelsCube`, :class:`ReferenceCube`: the other path-entry sources;
* :class:`Embedding`: one PCA/MDS/t-SNE recipe of a model on a set;
* :class:`StimulusSet`, :class:`ResultFile`, :class:`AnalysisStore`: a set's store, a file of the run, another
  analysis' outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .dimreduction import embedding_id

NodeRequest = Union[str, tuple]


@dataclass(frozen=True)
class ModelCube:
    method: str
    model: str
    set: str
    nodes: NodeRequest = "all"


@dataclass(frozen=True)
class FeatureStore:
    """A model's features on a set, over some nodes, read by a consumer itself (a streamed path)."""

    model: str
    set: str
    nodes: NodeRequest = "all"


@dataclass(frozen=True)
class LabelsCube:
    method: str
    set: str


@dataclass(frozen=True)
class ReferenceCube:
    reference: str
    set: str


@dataclass(frozen=True)
class Embedding:
    model: str
    set: str
    method: str
    seed: int
    perplexity: float
    nodes: NodeRequest = "layers"

    @property
    def id(self):
        """The recipe's folder name (:func:`repgeom.dimreduction.embedding_id`)."""
        return embedding_id(self.method, self.seed, self.perplexity)


@dataclass(frozen=True)
class StimulusSet:
    set: str


@dataclass(frozen=True)
class ResultFile:
    """A file of the run (e.g. ``accuracy.csv``), by its path under the results folder."""

    name: str


@dataclass(frozen=True)
class AnalysisStore:
    section: str
    name: str


class NeedsManifest(LookupError):
    """A model's nodes are known only from its manifest, and none was supplied."""



