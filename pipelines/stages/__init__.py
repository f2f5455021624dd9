"""The build's stages, in order: seeds → compose → distill → verify → retro_search → score.

Export to the corpus follows as a global step (`reasonmill.pipelines.export`).
"""

STAGE_ORDER: tuple[str, ...] = ("seeds", "compose", "distill", "verify", "retro_search", "score")
