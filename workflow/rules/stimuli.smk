rule stimuli:
    input:
        unpack(stimuli_inputs),
    output:
        directory(f"{RESULTS}/stimuli/{{set}}.zarr"),
    params:
        spec=stimuli_spec,
        args=stimuli_args,
        torch_threads=1,  # fixed, not Snakemake's allotment: FGSM images must not depend on --cores
        device=config["device"],
        code=code_version("stimuli"),
    threads: 1
    resources:
        mem_mb=1500,
        runtime=15,
    log:
        f"{RESULTS}/logs/stimuli/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/stimuli/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.stimuli --set {wildcards.set} --spec {params.spec:q} {params.args}"
        " --device {params.device} --threads {params.torch_threads} --out {output} > {log} 2>&1"


rule accuracy:
    input:
        checkpoints=[PLAN.checkpoint_files(m)["checkpoint"] for m in ACCURACY_MODELS],
        records=[PLAN.checkpoint_files(m)["record"] for m in ACCURACY_MODELS],
        stimuli=[PLAN.stimuli_path(s) for s in ACCURACY_SETS],
    output:
        f"{RESULTS}/accuracy.csv",
    params:
        pairs=as_json(ACCURACY_PAIRS),
        torch_threads=1,
        code=code_version("accuracy"),
    threads: 1
    resources:
        mem_mb=1500,
        runtime=15,
    log:
        f"{RESULTS}/logs/accuracy.log",
    benchmark:
        f"{RESULTS}/benchmarks/accuracy.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.accuracy --checkpoints {input.checkpoints} --records {input.records}"
        " --stimuli {input.stimuli} --pairs {params.pairs:q} --threads {params.torch_threads}"
        " --code {params.code:q} --out {output} > {log} 2>&1"
