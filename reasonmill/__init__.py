"""reasonmill: verified, difficulty-scored reasoning corpora for SFT and RL.

The core package holds the row types, the schema, shards, config, registries and LLM backends. It
imports no stage: `reasonmill.generators`, `reasonmill.verifiers` and `reasonmill.pipelines` build
on it.
"""

from reasonmill.records import AnswerKind, Problem, Reason, Record, Rejection, Trace, Verdict

__all__ = ["AnswerKind", "Problem", "Reason", "Record", "Rejection", "Trace", "Verdict"]
__version__ = "0.1.0"
