rule rdm_figure:
    input:
        lambda w: RDM_FIGURES[(w.request, w.model, w.set)][0],
    output:
        figure=report(
            f"{RESULTS}/figures/rdms/{{request}}/{{model}}/{{set}}.png",
            caption="../report/rdms.rst",
            category="RDMs",
        ),
        metrics=f"{RESULTS}/metrics/separability/{{request}}/{{model}}/{{set}}.json",
    params:
        nodes=lambda w: as_json(RDM_FIGURES[(w.request, w.model, w.set)][1]),
        code=code_version("rdm_figure", "figures", "metrics"),
    log:
        f"{RESULTS}/logs/rdm_figure/{{request}}/{{model}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/rdm_figure/{{request}}/{{model}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.rdm_figure --request {wildcards.request} --cube {input}"
        " --nodes {params.nodes:q} --metrics {output.metrics} --out {output.figure} > {log} 2>&1"


rule embedding:
    input:
        f"{RESULTS}/features/{{model}}/{{set}}.zarr",
    output:
        directory(f"{RESULTS}/embeddings/{{model}}/{{set}}/{{embedding}}.zarr"),
    params:
        spec=embedding_spec,
        code=code_version("embedding", "dimreduction", "store"),
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
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} python -m repgeom.steps.embedding"
        " --spec {params.spec:q} --features {input} --out {output} > {log} 2>&1"


rule dimreduction:
    input:
        dimred_embeddings,
    output:
        store=directory(f"{RESULTS}/dimreduction/{{analysis}}.zarr"),
        figure=report(
            f"{RESULTS}/figures/dimreduction/{{analysis}}.png",
            caption="../report/dimreduction.rst",
            category="Dimensionality reduction",
        ),
    params:
        spec=dimred_spec,
        code=code_version("dimreduction", "figures", "store"),
    log:
        f"{RESULTS}/logs/dimreduction/{{analysis}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dimreduction/{{analysis}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.dimreduction --analysis {wildcards.analysis} --spec {params.spec:q}"
        " --embeddings {input} --out {output.store} --figure {output.figure} > {log} 2>&1"


rule accuracy_figure:
    input:
        f"{RESULTS}/accuracy.csv",
    output:
        report(f"{RESULTS}/figures/accuracy.png", caption="../report/accuracy.rst", category="Accuracy"),
    params:
        code=code_version("accuracy_figure", "figures"),
    log:
        f"{RESULTS}/logs/accuracy_figure.log",
    benchmark:
        f"{RESULTS}/benchmarks/accuracy_figure.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.accuracy_figure --table {input} --out {output} > {log} 2>&1"
