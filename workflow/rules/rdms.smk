rule features:
    input:
        unpack(feature_inputs),
    output:
        directory(f"{RESULTS}/features/{{model}}/{{set}}.zarr"),
    params:
        nodes=feature_nodes,
        batch_size=FEATURE_OPTS["batch_size"],
        device=config["device"],
        code=code_version("features", "features", "store", "checkpoints", "networks", "nodes"),
    threads: 1
    resources:
        mem_mb=feature_mem_mb,
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
        " --device {params.device} --threads {threads} --out {output} > {log} 2>&1"


rule rdm:
    input:
        f"{RESULTS}/features/{{model}}/{{set}}.zarr",
    output:
        directory(f"{RESULTS}/rdms/{{method}}/{{model}}/{{set}}.zarr"),
    params:
        nodes=cube_nodes,
        block=FEATURE_OPTS["rdm_block"],
        chunk=FEATURE_OPTS["rdm_chunk"],
        device=config["device"],
        code=code_version("rdm", "rdm", "store", "errors"),
    threads: rdm_threads
    resources:
        mem_mb=rdm_mem_mb,
        runtime=30,
    log:
        f"{RESULTS}/logs/rdm/{{method}}/{{model}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/rdm/{{method}}/{{model}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} python -m repgeom.steps.rdm --features {input}"
        " --method {wildcards.method} --nodes {params.nodes:q} --block {params.block} --chunk {params.chunk}"
        " --device {params.device} --out {output} > {log} 2>&1"
