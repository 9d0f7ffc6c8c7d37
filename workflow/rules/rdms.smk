rule features:
    input:
        unpack(feature_inputs),
        manifests=model_manifests,
    output:
        directory(f"{RESULTS}/features/{{model}}/{{set}}.zarr"),
    params:
        nodes=feature_nodes,
        batch_size=FEATURE_OPTS["batch_size"],
        torch_threads=1,  # fixed, not Snakemake's allotment: results must not depend on --cores
        device=config["device"],
        code=code_version("features"),
    threads: 1
    resources:
        mem_mb=lambda w: PLAN.feature_mem_mb(w.set),
        runtime=30,
    log:
        f"{RESULTS}/logs/features/{{model}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/features/{{model}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.features --checkpoint {input.checkpoint} --record {input.record}"
        " --stimuli {input.stimuli} --nodes {params.nodes:q} --batch-size {params.batch_size}"
        " --device {params.device} --threads {params.torch_threads} --out {output} > {log} 2>&1"


rule rdm:
    input:
        unpack(rdm_inputs),
        manifests=model_manifests,
    output:
        directory(f"{RESULTS}/rdms/{{method}}/{{model}}/{{set}}.zarr"),
    params:
        nodes=cube_nodes,
        block=FEATURE_OPTS["rdm_block"],
        chunk=FEATURE_OPTS["rdm_chunk"],
        blas_threads=lambda w: PLAN.rdm_threads(w.set),  # planned, whatever Snakemake allots
        device=config["device"],
        code=code_version("rdm"),
    threads: lambda w: PLAN.rdm_threads(w.set)
    resources:
        mem_mb=lambda w: PLAN.rdm_mem_mb(w.set),
        runtime=30,
    log:
        f"{RESULTS}/logs/rdm/{{method}}/{{model}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/rdm/{{method}}/{{model}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "OMP_NUM_THREADS={params.blas_threads} OPENBLAS_NUM_THREADS={params.blas_threads} python -m repgeom.steps.rdm"
        " --features {input.features} --method {wildcards.method} --nodes {params.nodes:q} --block {params.block}"
        " --chunk {params.chunk} --device {params.device} --out {output} > {log} 2>&1"


rule labels_rdm:
    input:
        f"{RESULTS}/stimuli/{{set}}.zarr",
    output:
        directory(f"{RESULTS}/labels/{{method}}/{{set}}.zarr"),
    params:
        blas_threads=1,
        code=code_version("labels_rdm"),
    threads: 1
    resources:
        mem_mb=lambda w: PLAN.rdm_mem_mb(w.set),
        runtime=10,
    log:
        f"{RESULTS}/logs/labels_rdm/{{method}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/labels_rdm/{{method}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "OMP_NUM_THREADS={params.blas_threads} OPENBLAS_NUM_THREADS={params.blas_threads}"
        " python -m repgeom.steps.labels_rdm"
        " --stimuli {input} --method {wildcards.method} --out {output} > {log} 2>&1"


rule reference_rdm:
    input:
        unpack(reference_inputs),
    output:
        directory(f"{RESULTS}/references/{{reference}}/{{set}}.zarr"),
    params:
        spec=lambda w: as_json({k: v for k, v in PLAN.references[w.reference].items()
                                if k not in ("label", "color", "marker")}),
        code=code_version("reference_rdm"),
    threads: 1
    resources:
        mem_mb=lambda w: PLAN.rdm_mem_mb(w.set),
        runtime=10,
    log:
        f"{RESULTS}/logs/reference_rdm/{{reference}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/reference_rdm/{{reference}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.reference_rdm --name {wildcards.reference} --spec {params.spec:q}"
        " --stimuli {input.stimuli} --out {output} > {log} 2>&1"
