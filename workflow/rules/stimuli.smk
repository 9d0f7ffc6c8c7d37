rule stimuli:
    input:
        unpack(stimuli_inputs),
    output:
        directory(f"{RESULTS}/stimuli/{{set}}.zarr"),
    params:
        spec=lambda w: as_json(STIM_SETS[w.set]),
        args=stimuli_args,
        device=config["device"],
        code=code_version("stimuli", "stimuli", "attacks", "mnist", "store", "checkpoints", "networks"),
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
        " --device {params.device} --threads {threads} --out {output} > {log} 2>&1"


rule accuracy:
    input:
        checkpoints=[checkpoint_files(m)["checkpoint"] for m in MODELS],
        records=[checkpoint_files(m)["record"] for m in MODELS],
        stimuli=[f"{RESULTS}/stimuli/{s}.zarr" for s in STIM_SETS],
    output:
        f"{RESULTS}/accuracy.csv",
    params:
        code=code_version("accuracy", "training", "checkpoints", "networks"),
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
        " --stimuli {input.stimuli} --threads {threads} --out {output} > {log} 2>&1"
