localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    output:
        directory(f"{RESOURCES}/checkpoints/{{model}}"),
    params:
        spec=lambda w: as_json(PLAN.model_spec(w.model)),
        mirror=config["download"]["torchvision_mirror"] or "",
        timeout=config["download"]["timeout"],
        on_unreachable=lambda w: config["download"]["on_unreachable"] if "train" in MODELS[w.model] else "fail",
        code=code_version("fetch"),
    log:
        f"{RESULTS}/logs/fetch_checkpoint/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/fetch_checkpoint/{{model}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.fetch --spec {params.spec:q} --mirror={params.mirror:q} --timeout {params.timeout}"
        " --on-unreachable {params.on_unreachable} --outdir {output} > {log} 2>&1"


# A Snakemake checkpoint: the job traces the network once and records its node manifest, which plans the jobs
# downstream of models whose node names only tracing knows (torchvision, module); the tutorial's are static.
checkpoint prepare_model:
    input:
        unpack(model_inputs),
    output:
        checkpoint=f"{RESULTS}/checkpoints/{{model}}.pt",
        record=f"{RESULTS}/checkpoints/{{model}}.json",
    params:
        spec=lambda w: as_json(PLAN.model_spec(w.model)),
        args=model_args,
        fgsm_eps=config["evaluation"]["fgsm_eps"],
        torch_threads=lambda w: PLAN.model_threads(w.model),  # fixed: the weights must not depend on --cores
        device=config["device"],
        code=code_version("prepare_model"),
    threads: lambda w: PLAN.model_threads(w.model)
    resources:
        mem_mb=2000,
        runtime=60,
    log:
        f"{RESULTS}/logs/prepare_model/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/prepare_model/{{model}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.prepare_model --model {wildcards.model} --spec {params.spec:q} {params.args}"
        " --fgsm-eps {params.fgsm_eps} --threads {params.torch_threads} --device {params.device}"
        " --out {output.checkpoint} --record {output.record} > {log} 2>&1"
