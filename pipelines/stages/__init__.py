"""The build's stages, in order: seeds → compose → distill → verify → retro_search → score → curate.

The corpus step (export, manifest, report) follows (`reasonmill.pipelines.runner.write_corpus`).
"""

STAGE_ORDER: tuple[str, ...] = ("seeds", "compose", "distill", "verify", "retro_search", "score", "curate")
