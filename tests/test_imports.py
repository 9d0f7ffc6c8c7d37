"""The package's import graph: no circle, no arrow running up, imports at the top except measurably heavy ones.

Read from the sources (repgeom.codehash parses every import statement, those inside functions included), so a
new module must be placed in a layer here and an import that breaks the rules fails the suite.
"""

import ast
import os
import subprocess
import sys

from repgeom import codehash

# Bottom to top; an import may point at its own layer or lower ones, never higher.
LAYERS = [
    # foundations: nothing of repgeom below them
    {"registry", "errors", "devices", "plugins", "nodes", "preprocess", "networks", "intervals", "metrics", "store",
     "runinfo", "export", "codehash", "torchvision_names"},
    # building blocks: registries of methods and kinds, files in and out
    {"download", "mnist", "rdm", "references", "dimreduction", "captions", "figures", "attacks", "models",
     "analyses.base"},
    # kinds that make data, and the pair engine
    {"stimuli", "checkpoints", "training", "features", "pairstats", "cubes", "artifacts", "names"},
    # comparisons, the path maths, path entries, where weights come from
    {"compare", "paths", "entries", "weights", "inference"},
    # analyses and the report
    {"analyses", "analyses.path", "analyses.path_comparison", "analyses.dimreduction", "analyses.fgsm_sweep",
     "analyses.montage", "analyses.profile", "analyses.reference_fit", "report"},
    # planning and validation
    {"plan", "config"},
    # the steps: thin shells
    {"steps", "steps._shell"} | {f"steps.{f[:-3]}" for f in os.listdir(os.path.join(codehash.SRC, "steps"))
                                  if f.endswith(".py") and f != "__init__.py"},
]

# Third-party modules imported inside functions only: measured here (python -X importtime, a fresh process,
# this 2-core machine; docs/decisions.md): torch 2.2-2.5 s, torchvision 4.2-4.6 s, rsatoolbox 2.7-3.0 s,
# sklearn.* 1.8-2.1 s, scipy.stats 1.4 s, scipy.spatial 0.6 s, scipy.io 0.4 s, matplotlib 0.3 s (pyplot 0.7 s),
# xarray 0.65 s, zarr 0.44 s, pandas 0.45-0.5 s.  Everything else (numpy 0.15 s, PIL 0.04 s, jsonschema, yaml,
# threadpoolctl, google_crc32c, mlxtend.data 0.14 s) is imported at the top.
HEAVY = ("torch", "torchvision", "rsatoolbox", "sklearn", "scipy.stats", "scipy.spatial", "scipy.io", "matplotlib",
         "xarray", "zarr", "pandas")


def _short(module):
    return module[len("repgeom."):] if module.startswith("repgeom.") else module


def _layer_of():
    out = {}
    for k, layer in enumerate(LAYERS):
        for m in layer:
            out[m] = k
    return out


def test_no_circle_in_the_import_graph():
    for top_level in (True, False):
        graph = codehash.import_graph(top_level=top_level)
        state, cycles = {}, []

        def visit(m, stack):
            state[m] = 1
            for t in graph.get(m, ()):
                if state.get(t) == 1:
                    cycles.append(stack + [t])
                elif t not in state:
                    visit(t, stack + [t])
            state[m] = 2

        for m in graph:
            if m not in state:
                visit(m, [m])
        assert not cycles, cycles


def test_every_import_points_down_or_sideways():
    layer = _layer_of()
    graph = codehash.import_graph()
    unplaced = sorted(_short(m) for m in graph if m != "repgeom" and _short(m) not in layer)
    assert not unplaced, f"place these modules in a layer of tests/test_imports.py: {unplaced}"
    up = [(_short(a), _short(b)) for a, targets in graph.items() if a != "repgeom" for b in targets
          if b != "repgeom" and layer[_short(b)] > layer[_short(a)]]
    assert not up, f"imports running up: {up}"


def _heavy_repgeom_modules():
    """repgeom modules that import a heavy module when they are imported (torch, directly or through another)."""
    top = codehash.import_graph(top_level=True)

    def third_party(module):
        tree = ast.parse(open(codehash.module_file(module)).read())
        names = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        return names

    heavy = set()
    changed = True
    while changed:
        changed = False
        for m, targets in top.items():
            if m not in heavy and (any(_is_heavy(n) for n in third_party(m)) or heavy & set(targets)):
                heavy.add(m)
                changed = True
    return heavy


def _is_heavy(name):
    return any(name == h or name.startswith(h + ".") for h in HEAVY)


def test_imports_inside_functions_are_only_the_measurably_heavy_ones():
    heavy_modules = _heavy_repgeom_modules()
    assert {"repgeom.checkpoints", "repgeom.networks", "repgeom.features", "repgeom.attacks"} <= heavy_modules
    light = []
    for module in codehash.import_graph():
        path = codehash.module_file(module)
        tree = ast.parse(open(path).read())
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        tried = {id(sub) for t in ast.walk(tree) if isinstance(t, ast.Try) for sub in ast.walk(t)}
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in tried:
                    continue  # an optional dependency's import lives in its try
                if isinstance(node, ast.ImportFrom) and not node.level and not node.module.startswith("repgeom"):
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                    ok = any(_is_heavy(n) for n in names)
                elif isinstance(node, ast.Import) and not node.names[0].name.startswith("repgeom"):
                    ok = all(_is_heavy(a.name) for a in node.names)
                else:
                    targets = codehash._targets(node, package, codehash.SRC) - {"repgeom"}
                    ok = bool(targets) and targets <= heavy_modules
                if not ok:
                    light.append(f"{_short(module)}:{node.lineno} {ast.unparse(node)}")
    assert not light, "imports that belong at the top (not measurably heavy):\n" + "\n".join(light)


def test_planning_imports_nothing_heavy():
    """What Snakemake imports to plan (config, plan, the analyses) stays light: none of the heavy modules."""
    code = ("import sys, time; t = time.perf_counter(); import repgeom.config, repgeom.plan; "
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'rsatoolbox', "
            "'sklearn', 'matplotlib', 'xarray', 'zarr', 'pandas'}); print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
