localrules:
    fetch_checkpoint,


rule fetch_checkpoint:
    output:
        directory(f"{RESOURCES}/checkpoints/{{model}}"),
    params:
        url=lambda w: MODELS[w.model]["checkpoint"]["url"],
        md5=lambda w: MODELS[w.model]["checkpoint"]["md5"],
        timeout=config["download"]["timeout"],
        on_unreachable=config["download"]["on_unreachable"],
        code=code_version("fetch", "download"),
    log:
        f"{RESULTS}/logs/fetch_checkpoint/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/fetch_checkpoint/{{model}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.fetch --url {params.url:q} --md5 {params.md5} --timeout {params.timeout}"
        " --on-unreachable {params.on_unreachable} --outdir {output} > {log} 2>&1"


rule checkpoint:
    input:
        unpack(checkpoint_inputs),
    output:
        checkpoint=f"{RESULTS}/checkpoints/{{model}}.pt",
        record=f"{RESULTS}/checkpoints/{{model}}.json",
    params:
        spec=model_spec,
        fetched=fetched_arg,
        fgsm_eps=config["evaluation"]["fgsm_eps"],
        device=config["device"],
        code=code_version("checkpoint", "checkpoints", "training", "networks", "attacks", "mnist", "download"),
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    log:
        f"{RESULTS}/logs/checkpoint/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/checkpoint/{{model}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.checkpoint --model {wildcards.model} --spec {params.spec:q}"
        " --data {input.data} {params.fetched} --fgsm-eps {params.fgsm_eps} --threads {threads} --device {params.device}"
        " --out {output.checkpoint} --record {output.record} > {log} 2>&1"
