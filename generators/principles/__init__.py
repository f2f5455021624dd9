"""Composition principles: rules that combine seed problems into one harder, multi-hop problem
(bridging, chaining, comparison, conjunction), each registered in `PRINCIPLES`; `base` holds what
a principle is. The LLM composition of synthesized seeds is `reasonmill.generators.llm_tasks.multihop`."""
