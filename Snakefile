# repgeom: computation as transformation of representational geometries.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/stimuli.smk"
include: "workflow/rules/rdms.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/metrics.smk"


rule all:
    input:
        PLAN.targets(),
    default_target: True
