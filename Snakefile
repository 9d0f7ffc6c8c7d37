# repgeom: computation as transformation of representational geometries.
from snakemake.utils import min_version

min_version("9.0")


# config.yaml (and any --configfile) is read by common.smk with a strict YAML loader: syntax errors with
# their line and column, repeated keys refused; then validated against the schema before any job.


include: "workflow/rules/common.smk"


# Jobs run the interpreter this workflow runs under (its folder first on PATH), not whatever `python` comes
# first: `.venv/bin/snakemake` works without activating the venv. With --software-deployment-method conda
# each job's own environment decides.
if not uses_conda():
    shell.prefix(f"export PATH={shlex.quote(os.path.dirname(sys.executable))}:\"$PATH\"; ")

include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/stimuli.smk"
include: "workflow/rules/rdms.smk"
include: "workflow/rules/analyses.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        PLAN.targets(),
    default_target: True


onsuccess:
    print("\n".join(summary_lines(RESULTS, list(MODELS))), file=sys.stderr)


onerror:
    print("\n".join(failure_lines(RESULTS, RUN_STARTED, log)), file=sys.stderr)
