rule embedding:
    input:
        unpack(embedding_inputs),
        manifests=model_manifests,
    output:
        directory(f"{RESULTS}/embeddings/{{model}}/{{set}}/{{embedding}}.zarr"),
    params:
        spec=embedding_spec,
        blas_threads=1,  # fixed, not Snakemake's allotment: results must not depend on --cores
        code=code_version("embedding"),
    priority: 10  # the longest jobs (t-SNE, MDS): start them first so short jobs fill the gaps
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"{RESULTS}/logs/embedding/{{model}}/{{set}}/{{embedding}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/embedding/{{model}}/{{set}}/{{embedding}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "OMP_NUM_THREADS={params.blas_threads} OPENBLAS_NUM_THREADS={params.blas_threads}"
        " python -m repgeom.steps.embedding"
        " --spec {params.spec:q} --features {input.features} --out {output} > {log} 2>&1"


# One compute job per entry of every analysis section (paths, path_comparisons, dimreduction, ...):
# the section's kind (repgeom.analyses.ANALYSES) says what it reads and computes.
rule analysis:
    input:
        unpack(analysis_inputs),
        manifests=analysis_manifests,
    output:
        store=directory(f"{RESULTS}/{{section}}/{{name}}.zarr"),
        metrics=f"{RESULTS}/metrics/{{section}}/{{name}}.json",
    params:
        spec=analysis_spec,
        blas_threads=lambda wc: PLAN.analysis_threads(wc.section, wc.name),  # fixed by the config, not --cores
        code=analysis_code,
    threads: lambda wc: PLAN.analysis_threads(wc.section, wc.name)
    resources:
        mem_mb=lambda wc: PLAN.analysis_mem_mb(wc.section, wc.name),
        runtime=30,
    log:
        f"{RESULTS}/logs/{{section}}/{{name}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{section}}/{{name}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "OMP_NUM_THREADS={params.blas_threads} OPENBLAS_NUM_THREADS={params.blas_threads}"
        " MKL_NUM_THREADS={params.blas_threads} python -m repgeom.steps.analysis"
        " --section {wildcards.section} --spec {params.spec:q} --inputs {input.inputs}"
        " --out {output.store} --metrics {output.metrics} > {log} 2>&1"


# Its figure, from the store alone: labels and colours are params here only, so editing them redraws.
rule analysis_figure:
    input:
        f"{RESULTS}/{{section}}/{{name}}.zarr",
    output:
        report(
            f"{RESULTS}/figures/{{section}}/{{name}}.png",
            caption="../report/analysis.rst",
            category="{section}",
            subcategory="{name}",
        ),
    params:
        display=analysis_display,
        code=analysis_figure_code,
    log:
        f"{RESULTS}/logs/{{section}}_figure/{{name}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{section}}_figure/{{name}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.analysis_figure --section {wildcards.section} --store {input}"
        " --display {params.display:q} --out {output} > {log} 2>&1"
