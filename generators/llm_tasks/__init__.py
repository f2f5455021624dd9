"""Generation tasks that use a model, each render → call → parse with render and parse pure:
MindGYM seed synthesis (`mindgym`), multi-hop questions over synthesized seeds (`multihop`), the
LLM teacher (`teacher`), the student that samples answers for pass rates (`student`), and the
parsing helpers they share (`parsing`). The backends themselves are `reasonmill.llm`."""
