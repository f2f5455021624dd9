"""LLM-driven generation: MindGYM synthesis, LLM composition, the LLM teacher."""
