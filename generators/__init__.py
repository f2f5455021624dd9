"""reasonmill.generators: procedural families, composition, teachers and Retro-Search.

Never imports reasonmill.verifiers: verification is passed in by the pipeline.
"""

from reasonmill.generators.registry import FAMILIES, PRINCIPLES, TEACHERS

__all__ = ["FAMILIES", "PRINCIPLES", "TEACHERS"]
