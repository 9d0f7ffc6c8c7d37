localrules:
    metrics_summary,  # reads a few JSON files: not worth a cluster job


rule metrics_summary:
    input:
        metrics_files(),
    output:
        report(f"{RESULTS}/metrics/summary.csv", caption="../report/metrics.rst", category="Metrics"),
    params:
        code=code_version("metrics_summary", "metrics"),
    log:
        f"{RESULTS}/logs/metrics_summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/metrics_summary.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.metrics_summary --metrics {input} --out {output} > {log} 2>&1"
