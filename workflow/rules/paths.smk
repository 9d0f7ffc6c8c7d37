rule path:
    input:
        path_cubes,
    output:
        store=directory(f"{RESULTS}/paths/{{analysis}}.zarr"),
        metrics=f"{RESULTS}/metrics/paths/{{analysis}}.json",
    params:
        spec=path_spec,
        code=code_version("path", "paths", "rdm", "store", "metrics"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"{RESULTS}/logs/path/{{analysis}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/path/{{analysis}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.path --analysis {wildcards.analysis} --spec {params.spec:q}"
        " --cubes {input} --out {output.store} --metrics {output.metrics} > {log} 2>&1"


rule path_figure:
    input:
        f"{RESULTS}/paths/{{analysis}}.zarr",
    output:
        report(
            f"{RESULTS}/figures/paths/{{analysis}}.png",
            caption="../report/path.rst",
            category="Representational paths",
        ),
    params:
        code=code_version("path_figure", "figures"),
    log:
        f"{RESULTS}/logs/path_figure/{{analysis}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/path_figure/{{analysis}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.path_figure --path {input} --out {output} > {log} 2>&1"


rule path_comparison:
    input:
        reference=lambda w: f"{RESULTS}/paths/{config['path_comparisons'][w.comparison]['reference']}.zarr",
        other=lambda w: f"{RESULTS}/paths/{config['path_comparisons'][w.comparison]['other']}.zarr",
    output:
        figure=report(
            f"{RESULTS}/figures/path_comparisons/{{comparison}}.png",
            caption="../report/path_comparison.rst",
            category="Representational paths",
        ),
        metrics=f"{RESULTS}/metrics/path_comparisons/{{comparison}}.json",
    params:
        code=code_version("path_comparison", "paths", "figures"),
    log:
        f"{RESULTS}/logs/path_comparison/{{comparison}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/path_comparison/{{comparison}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.path_comparison --name {wildcards.comparison} --reference {input.reference}"
        " --other {input.other} --metrics {output.metrics} --out {output.figure} > {log} 2>&1"
