rule rdm_figure:
    input:
        unpack(rdm_figure_inputs),
        manifests=model_manifests,
    output:
        figure=report(
            f"{RESULTS}/figures/rdms/{{request}}/{{model}}/{{set}}.png",
            caption="../report/rdms.rst",
            category="RDMs",
        ),
    params:
        nodes=rdm_figure_nodes,
        display=rdm_figure_display,
        code=code_version("rdm_figure"),
    log:
        f"{RESULTS}/logs/rdm_figure/{{request}}/{{model}}/{{set}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/rdm_figure/{{request}}/{{model}}/{{set}}.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.rdm_figure --request {wildcards.request} --cube {input.cube}"
        " --nodes {params.nodes:q} --display {params.display:q} --out {output.figure} > {log} 2>&1"


rule accuracy_figure:
    input:
        f"{RESULTS}/accuracy.csv",
    output:
        report(f"{RESULTS}/figures/accuracy.png", caption="../report/accuracy.rst", category="Accuracy"),
    params:
        display=lambda w: as_json(PLAN.accuracy_display(ACCURACY_MODELS)),
        code=code_version("accuracy_figure"),
    log:
        f"{RESULTS}/logs/accuracy_figure.log",
    benchmark:
        f"{RESULTS}/benchmarks/accuracy_figure.tsv"
    conda:
        "../envs/repgeom.yaml"
    shell:
        "python -m repgeom.steps.accuracy_figure --table {input} --display {params.display:q} --out {output} > {log} 2>&1"
