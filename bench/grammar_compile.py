"""Grammar compilation time per draft schema, measured in-process with the server's xgrammar.

Run with the vLLM virtualenv (it has xgrammar and the tokenizer libraries):

    python bench/bench_vllm.py --dump-schemas /tmp/schemas.json --latency 8
    .venv-vllm/bin/python bench/grammar_compile.py /tmp/schemas.json \
        .radrag/models/qwen2.5-coder-0.5b

Each schema is compiled on a fresh compiler (no cache), as vLLM does for a schema it has
not seen; the figures are the median and total seconds per prompt version.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import xgrammar as xgr
from transformers import AutoTokenizer


def main() -> None:
    """Print compile seconds per prompt version as JSON."""
    with open(sys.argv[1]) as fh:
        schemas = json.load(fh)
    model = sys.argv[2]
    info = xgr.TokenizerInfo.from_huggingface(AutoTokenizer.from_pretrained(model))
    out = {}
    for version, items in schemas.items():
        times = []
        for schema in items:
            compiler = xgr.GrammarCompiler(info, cache_enabled=False)
            t = time.perf_counter()
            compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
            times.append(time.perf_counter() - t)
        out[version] = {
            "schemas": len(items),
            "distinct": len({json.dumps(s, sort_keys=True) for s in items}),
            "median_compile_s": round(statistics.median(times), 3),
            "max_compile_s": round(max(times), 3),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
