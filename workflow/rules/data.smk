localrules:
    mnist,


rule mnist:
    input:
        mnist_inputs,  # the IDX files when the source is a local copy: a changed file reruns the data step
    output:
        f"{RESULTS}/data/mnist.npz",
    params:
        source=config["data"]["source"],
        idx_dir=lambda w: f"--idx-dir {config['data']['idx_dir']}" if config["data"]["idx_dir"] else "",
        download_dir=f"{RESOURCES}/mnist",
        heldout=config["data"]["embedded_heldout_per_class"],
        seed=config["data"]["split_seed"],
        code=code_version("mnist"),
    log:
        f"{RESULTS}/logs/mnist.log",
    benchmark:
        f"{RESULTS}/benchmarks/mnist.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.mnist --source {params.source} {params.idx_dir}"
        " --download-dir {params.download_dir} --heldout-per-class {params.heldout}"
        " --split-seed {params.seed} --out {output} > {log} 2>&1"
