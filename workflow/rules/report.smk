# The run's report (repgeom.report): a front page, the config's sections with every figure captioned with its
# numbers, and the tables, in one self-contained HTML file. Snakemake's own `--report` keeps working beside it.
rule report:
    input:
        unpack(report_inputs),
    output:
        f"{RESULTS}/report.html",
    params:
        layout=report_layout,
        info=report_info,
        results=lambda w, output: os.path.dirname(output[0]),
        code=code_version("report"),
    log:
        f"{RESULTS}/logs/report.log",
    benchmark:
        f"{RESULTS}/benchmarks/report.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.report --layout {params.layout:q} --info {params.info:q} --results {params.results}"
        " --out {output} > {log} 2>&1"
