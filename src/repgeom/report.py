"""The run's report: one self-contained HTML page a scientist can hand on.

A front page (where the data and every model came from, the config's digest, package versions, the date),
then the sections of the config's ``report:`` layout (the seed's order in the default config) with one
entry per figure, each captioned with what it shows *and its numbers* (read from the run's metrics, cubes
and tables, never typed in), then the tables.  Images are embedded, so the file stands alone.
"""

from __future__ import annotations

import base64
import csv
import datetime
import html
import json
import os
from importlib import metadata

from .captions import caption_of
from .cubes import Cube
from .runinfo import data_description, model_origin

PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-learn", "rsatoolbox", "snakemake", "zarr", "xarray",
            "matplotlib")


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _fmt(v, digits=3):
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) else html.escape(str(v))


def _ci(ci, key="ci95"):
    if not ci or key not in ci:
        return ""
    lo, hi = ci[key]
    return f" [{lo:.3f}, {hi:.3f}]"


# ---- numbers for each kind of figure ---------------------------------------------------------------

def separability_numbers(cube_path, layers):
    cube = Cube(cube_path)
    sep = cube.separability or {}
    steps = ", ".join(f"{layer} {sep[layer]:.2f}" for layer in layers if layer in sep)
    return (f"Separability (mean between-class / mean within-class {cube.attrs['method']} dissimilarity; 1 = no "
            f"category structure): {steps}.")


def accuracy_numbers(table_path):
    with open(table_path) as f:
        rows = list(csv.DictReader(f))
    own = [r for r in rows if r["attacked_model"] and r["attacked_model"] == r["model"]]
    clean = {}
    for r in rows:
        if not r["attacked_model"]:
            clean.setdefault(r["model"], r)
    parts = [f"{m} {int(r['correct'])}/{int(r['n'])} on {r['stimulus_set']}" for m, r in list(clean.items())[:4]]
    text = "Clean images: " + "; ".join(parts) + "."
    if own:
        text += " Under FGSM made against the model itself: " + "; ".join(
            f"{r['model']} {int(r['correct'])}/{int(r['n'])} = {float(r['accuracy']):.3f} "
            f"[{float(r['ci95_low']):.3f}, {float(r['ci95_high']):.3f}] (eps {float(r['eps']):g}, "
            f"{r['stimulus_set']})" for r in own[:4]) + "."
    return text + " Brackets: Wilson 95 % intervals."


def analysis_numbers(section, metrics_path, description=""):
    return caption_of(section, description).numbers(_read_json(metrics_path))


# ---- the page ------------------------------------------------------------------------------------

CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.2em} h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}
h3{margin-bottom:.3em} figure{margin:1em 0 2em} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.93em;color:#333;margin-top:.4em} .numbers{color:#114;background:#f4f6fb;padding:.4em .6em;
margin-top:.3em;border-left:3px solid #7a8cc7} table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left} th{background:#f2f2f2} nav a{margin-right:1em}
.front td:first-child{font-weight:bold;white-space:nowrap} details{margin:1em 0}
"""


def _table(rows, columns, limit=None):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows[:limit] if limit else rows:
        body.append("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _figure(path, title, caption, numbers):
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    return (f'<figure id="{html.escape(os.path.basename(path))}"><h3>{html.escape(title)}</h3>'
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}<div class=\"numbers\">{html.escape(numbers)}</div></figcaption>"
            f"</figure>")


def front_page(info, records):
    """The run at a glance: data, models (how each was obtained and on what), config digest, versions, date."""
    data = next((r["data"] for r in records.values() if r.get("data")), None)
    lines = []
    if data:
        lines.append(("Data", data_description(data)))
    for name, sets in info.get("other_data", {}).items():
        lines.append((f"Stimuli {name}", sets))
    models = []
    for m, r in records.items():
        how = model_origin(r)
        trained_on = ""
        if r.get("source") == "trained" and r.get("data"):
            rec = r.get("recipe", {})
            trained_on = (f"{r['data'].get('n_train'):,} {r['data'].get('source')} digits, recipe {rec.get('recipe')}, "
                          f"{rec.get('epochs')} epochs, seed {rec.get('seed')}")
        acc = r.get("metrics", {}).get("heldout_accuracy")
        models.append({"model": m, "kind": r.get("kind"), "obtained": how, "trained on": trained_on,
                       "held-out accuracy": f"{acc:.4f}" if acc is not None else "", "checkpoint md5": r.get("md5")})
    lines += [("Config digest", f"sha256 {info['config_digest']} ({info.get('configfiles') or 'config.yaml'})"),
              ("Run date", info["date"]),
              ("Packages", ", ".join(f"{k} {v}" for k, v in info["versions"].items()))]
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in lines)
    out = f'<section id="front"><h2>The run</h2><table class="front">{rows}</table>'
    if models:
        out += "<h3>Models</h3>" + _table(models, list(models[0]))
    return out + "</section>"


def render(layout, info, records):
    """The whole page from a resolved layout: [{"title", "text", "items": [{"type", ...}]}]."""
    nav = "".join(f'<a href="#s{k}">{html.escape(s["title"])}</a>' for k, s in enumerate(layout))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(info['title'])}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(info['title'])}</h1>"
             f"<p>{html.escape(info.get('subtitle', ''))}</p><nav><a href=\"#front\">The run</a>{nav}</nav>",
             front_page(info, records)]
    for k, section in enumerate(layout):
        parts.append(f'<section id="s{k}"><h2>{html.escape(section["title"])}</h2>')
        if section.get("text"):
            parts.append(f"<p>{html.escape(section['text'])}</p>")
        for item in section["items"]:
            if item["type"] == "figure":
                parts.append(_figure(item["path"], item["title"], item["caption"], item["numbers"]))
            elif item["type"] == "table":
                with open(item["path"]) as f:
                    rows = list(csv.DictReader(f))
                columns = list(rows[0]) if rows else []
                table = _table(rows, columns)
                if item.get("collapsed"):
                    table = (f"<details><summary>{html.escape(item['title'])}: {len(rows):,} rows "
                             f"(also {html.escape(item['relpath'])})</summary>{table}</details>")
                else:
                    table = f"<h3>{html.escape(item['title'])}</h3>{table}"
                parts.append(f"<div class=\"table\">{table}<p>{html.escape(item.get('caption', ''))}</p></div>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build(layout_spec, results, info, out):
    """Resolve the layout's items into captions with numbers, render, write atomically."""
    records = {}
    for m in info["models"]:
        path = os.path.join(results, "checkpoints", f"{m}.json")
        if os.path.exists(path):
            records[m] = _read_json(path)
    layout = []
    for section in layout_spec:
        items = []
        for item in section["items"]:
            kind = item["kind"]
            caption = item.get("caption", "")
            if kind == "analysis":
                caption = caption_of(item["section"], item.get("description", "")).text
                numbers = analysis_numbers(item["section"], item["metrics"], item.get("description", ""))
            elif kind == "rdm_figure":
                caption = caption_of("rdms").text
                numbers = separability_numbers(item["cube"], item["layers"])
            elif kind == "accuracy":
                caption = caption_of("accuracy").text
                numbers = accuracy_numbers(item["table"])
            else:
                numbers = ""
            if kind == "table":
                items.append({"type": "table", "path": item["path"], "title": item["title"],
                              "caption": caption, "collapsed": item.get("collapsed", False),
                              "relpath": os.path.relpath(item["path"], os.path.dirname(out))})
            else:
                items.append({"type": "figure", "path": item["figure"], "title": item["title"],
                              "caption": caption, "numbers": numbers})
        layout.append({"title": section["title"], "text": section.get("text", ""), "items": items})
    info = {**info, "versions": package_versions(), "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}
    page = render(layout, info, records)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, out)
    return page
