localrules:
    metrics_summary,  # reads a few JSON files: not worth a cluster job


rule metrics_summary:
    input:
        unpack(summary_inputs),
        manifests=summary_manifests,
    output:
        report(f"{RESULTS}/metrics/summary.csv", caption="../report/metrics.rst", category="Metrics"),
    params:
        rdm_figures=summary_figures,
        code=code_version("metrics_summary", *(ANALYSES[s] for s in ANALYSES)),  # every kind's summary rows
    log:
        f"{RESULTS}/logs/metrics_summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/metrics_summary.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.metrics_summary --rdm-figures {params.rdm_figures:q} --cubes {input.cubes}"
        " --metrics {input.metrics} --out {output} > {log} 2>&1"
