# %% [markdown]
# # Exploring a reasonmill corpus
#
# A notebook in percent format (open it in Jupyter/VS Code with jupytext, or run it as a script).
# It loads a finished build with `datasets`, shows how the corpus is made up, and plots difficulty
# and what Retro-Search did to trace length. The test suite runs it on a small build so it cannot
# rot. Point it at a build with `REASONMILL_OUT=out python notebooks/explore_corpus.py`.

# %%
import json
import os
from collections import Counter
from pathlib import Path

from datasets import load_dataset

from reasonmill.pipelines.report import plot_difficulty, plot_retro_search

OUT = Path(os.environ.get("REASONMILL_OUT", "out"))
manifest = json.loads((OUT / "manifest.json").read_text())
# One `datasets` config per subset (sft, prompt_completion, grpo, preference, records); the flat
# analysis rows are the `records` subset.
ds = load_dataset(str(OUT), "records", split="train")
print(f"{ds.num_rows} rows, config {manifest['config_hash']}")
print("subsets:", {name: s["rows"] for name, s in manifest["corpus"]["subsets"].items()})

# %% [markdown]
# ## What the corpus is made of

# %%
by_source = Counter(ds["source"])
by_level = Counter(ds["level"])
print("by source:", dict(by_source))
print("by level:", dict(sorted(by_level.items())))
print("rejections:", manifest["rejections"])

# %% [markdown]
# ## Difficulty and trace length

# %%
rows = ds.select_columns(
    ["source", "difficulty", "trace_tokens", "parent_trace_id", "scores", "level"]
).to_list()
figures = OUT / "report"
figures.mkdir(exist_ok=True)
plot_difficulty(rows, figures / "notebook_difficulty.png")
plot_retro_search(rows, figures / "notebook_retro_search.png")
revised = [r for r in rows if r["parent_trace_id"]]
reduction = [r["scores"].get("retro_token_reduction") or 0.0 for r in revised]
print(f"{len(revised)} of {len(rows)} corpus traces are Retro-Search revisions")
if reduction:
    print(f"mean token reduction of revised traces: {sum(reduction) / len(reduction):.1%}")

# %% [markdown]
# ## One example

# %%
example = ds[0]
print(example["question"])
print(example["completion"][:600])
print("gold:", example["answer"])
