"""Shared plumbing of the workflow steps: logging, clean errors, JSON records, atomic figures, the allocator."""

import argparse
import json
import logging
import os
import sys

from .. import __version__
from . import tune_allocator  # noqa: F401  (run when the steps package loads; benchmarks call it)
from ..errors import CheckpointRefused, DownloadError, MnistUnavailable
from ..plugins import load_from_env

log = logging.getLogger("repgeom")


def write_json(obj, path):
    """Write JSON atomically (temp file + rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)  # keys in the order written: layers stay in network order
        f.write("\n")
    os.replace(tmp, path)


def save_figure(fig, path, dpi=150):
    """Write a matplotlib figure atomically (temp file + rename)."""
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    os.replace(tmp, path)


def provenance():
    return {"repgeom_version": __version__}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def main(description, add_arguments, run, argv=None):
    """Parse arguments, set up logging to stderr, run; known failures become one clear line and exit 1."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("-v", "--verbose", action="store_true")
    add_arguments(p)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        plugins = load_from_env()  # the user's kinds, registered before anything looks them up
        if plugins:
            log.info("plug-ins: %s", ", ".join(plugins))
        run(a)
    except (CheckpointRefused, DownloadError, MnistUnavailable, ValueError) as err:
        log.debug("traceback", exc_info=True)
        log.error("%s", err)
        raise SystemExit(1) from None
    except SystemExit as err:
        if err.code not in (None, 0):
            log.error("%s", err.code)
        raise SystemExit(1 if err.code not in (None, 0) else 0) from None
    except Exception as err:  # a bug, not a user error: keep the traceback, and still one line for the console
        log.exception("traceback")
        log.error("unexpected %s: %s (a bug in repgeom; the traceback is above)", type(err).__name__, err)
        raise SystemExit(1) from None
