"""Name -> implementation tables, one per kind of thing a config can name.

The shape of rsatoolbox's ``calc_rdm`` dispatch and scikit-learn's
``PAIRWISE_DISTANCE_FUNCTIONS``: each kind (a model kind, a stimulus kind,
an RDM method, a comparison, a path-entry source, a reference file format,
an analysis) is declared once, in the module that implements it, with
``@REGISTRY.register("name")``.  The config schema's enums, the cross-checks
and the workflow's wildcard constraints are read from these tables, so adding
a kind never means hunting for string tests elsewhere.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator


class Registry:
    """An ordered table ``name -> entry`` of one kind, with errors that list the valid names."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Any] = {}

    def register(self, name: str, entry: Any = None) -> Any:
        """Add ``entry`` under ``name``; without ``entry``, a decorator that registers what it decorates.

        A decorated class is registered as an instance (kinds are objects with methods).
        """
        def add(obj):
            if name in self._entries:
                raise ValueError(f"{self.what} {name!r} is registered twice")
            self._entries[name] = obj() if isinstance(obj, type) else obj
            return obj

        return add if entry is None else add(entry)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and plug-ins that replace an entry)."""
        self._entries.pop(name)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r}; valid: {self.names()}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        """Registered names in registration order (the schema's enum)."""
        return list(self._entries)

    def items(self):
        return self._entries.items()

    def where(self, test: Callable[[Any], bool]) -> list[str]:
        """Names whose entry passes ``test``."""
        return [n for n, e in self._entries.items() if test(e)]
