"""Kinds from the user's own folder: Python files a config names under ``plugins:``, imported by planning and
by every job alike.

A plug-in registers what it declares into repgeom's registries (``MODEL_KINDS.register(...)``,
``STIMULUS_KINDS``, ``RDM_METHODS``, ``COMPARISONS``, ``ANALYSES``, ``CAPTIONS``, ...), exactly as the
examples of ``docs/extending.md`` do.  The workflow imports the files before it assembles the config schema
(so the new kinds validate), passes their absolute paths to every job in ``REPGEOM_PLUGINS`` (the steps
import them before they run), and hashes their sources into every job's code hash (an edited plug-in reruns
what it may touch).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from typing import Iterable

ENV = "REPGEOM_PLUGINS"  # absolute paths of the plug-in files, os.pathsep-separated


class PluginError(ValueError):
    """A plug-in file is missing or failed to import."""


def _module_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"repgeom_plugin_{stem}_{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def load(paths: Iterable[str], where: str = "config.plugins") -> list:
    """Import each plug-in file once (a second call with the same file does nothing); returns their absolute
    paths.  Errors name the config key and the file."""
    loaded = []
    for k, path in enumerate(paths):
        full = os.path.abspath(path)
        if not os.path.isfile(full):
            raise PluginError(f"{where}.{k}: file {path!r} does not exist")
        name = _module_name(full)
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, full)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            folder = os.path.dirname(full)
            if folder not in sys.path:
                sys.path.insert(0, folder)  # a plug-in may import its neighbours
            try:
                spec.loader.exec_module(module)
            except Exception as err:
                del sys.modules[name]
                raise PluginError(f"{where}.{k}: importing {path!r} failed: {type(err).__name__}: {err}") from None
        loaded.append(full)
    return loaded


def load_from_env() -> list:
    """The plug-ins a job was started with (``REPGEOM_PLUGINS``)."""
    value = os.environ.get(ENV, "")
    return load([p for p in value.split(os.pathsep) if p], where=ENV) if value else []


def export(paths: list) -> None:
    """Hand the plug-ins to the jobs this process starts (their environment inherits it)."""
    if paths:
        os.environ[ENV] = os.pathsep.join(paths)
    else:
        os.environ.pop(ENV, None)
