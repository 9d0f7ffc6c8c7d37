"""Every name a config defines, and the one way a cross-reference to one is checked.

A config refers to its own entries by name in many places: models (a family of seeds stands for its
members), stimulus sets (an FGSM sweep stands for one set per eps, ``NAME-epsE``), references and analyses.
Validation and every analysis kind check those references here, so a name means the same thing everywhere
and an error always says what the name could have been.
"""

from __future__ import annotations

from typing import Optional

from .models import expand_families
from .stimuli import expand_sets


class Names:
    """The names of one (schema-valid) config: concrete models and families, concrete sets and the sweeps
    that expand into them, references, and each analysis section's entries."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.models, self.families = expand_families(cfg.get("models") or {})
        self.configured_sets = dict(cfg.get("stimuli") or {})
        self.sets = expand_sets(self.configured_sets)
        self.sweeps = {}  # a config entry that expands into several sets: its members
        for s, spec in self.sets.items():
            if spec.get("sweep"):
                self.sweeps.setdefault(spec["sweep"], []).append(s)
        self.references = dict(cfg.get("references") or {})

    # ---- models ---------------------------------------------------------------------------------------
    def check_model(self, name, where: str, family: bool = True) -> list:
        """A model name; ``family``: a family of seeds may stand for all its members (else name one seed)."""
        if name in self.families:
            return [] if family else [f"{where}: {name!r} is a family of seeds; name one of {self.families[name]}"]
        if name in self.models:
            return []
        return [f"{where}: unknown model {name!r}; configured models: {self._model_names()}"]

    def check_models(self, names, where: str, family: bool = True) -> list:
        return [p for name in names for p in self.check_model(name, where, family)]

    def _model_names(self):
        return sorted(set(self.models) | set(self.families))

    # ---- stimulus sets ----------------------------------------------------------------------------------
    def check_set(self, name, where: str, sweep: bool = False) -> list:
        """A stimulus set: a concrete set (a sweep member such as ``sweep-eps0.1`` included); ``sweep``: an eps
        sweep may stand for all its sets (else name one of them)."""
        if name in self.sets:
            return []
        if name in self.sweeps:
            return [] if sweep else [f"{where}: {name!r} is an eps sweep; name one of {self.sweeps[name]}"]
        hint = " (that is a model)" if name in self.models or name in self.families else ""
        return [f"{where}: unknown stimulus set {name!r}{hint}; configured sets: {self._set_names()}"]

    def check_sets(self, names, where: str, sweep: bool = False) -> list:
        return [p for name in names for p in self.check_set(name, where, sweep)]

    def _set_names(self):
        return sorted(set(self.sets) | set(self.sweeps))

    def sweep_members(self, name) -> Optional[list]:
        """The sets an eps sweep expands into (None: not a sweep)."""
        return self.sweeps.get(name)

    # ---- references and analyses --------------------------------------------------------------------------
    def check_reference(self, name, where: str) -> list:
        if name in self.references:
            return []
        return [f"{where}: unknown reference {name!r}; configured references: {sorted(self.references)}"]

    def check_analysis(self, section: str, name, where: str) -> list:
        entries = self.cfg.get(section) or {}
        if name in entries:
            return []
        return [f"{where}: unknown {section} analysis {name!r}; configured: {sorted(entries)}"]
