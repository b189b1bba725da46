"""Greedy answers through LLaMA-Factory's ChatModel (huggingface engine): generate.py REQUEST.json OUT.jsonl.
REQUEST: {"model", "template", "max_new_tokens", "cutoff_len", "rows": [{"messages", "system"}]}; one line
{"text": ...} per row, in order, written to OUT.jsonl.tmp and renamed at the end."""
import json
import os
import sys

from llamafactory.chat import ChatModel

request = json.load(open(sys.argv[1]))
model = ChatModel({"model_name_or_path": request["model"], "template": request["template"], "infer_backend": "huggingface",
                   "do_sample": False, "max_new_tokens": request["max_new_tokens"], "cutoff_len": request["cutoff_len"],
                   "trust_remote_code": False})
tmp = sys.argv[2] + ".tmp"
with open(tmp, "w") as out:
    for row in request["rows"]:
        reply = model.chat(row["messages"], system=row["system"], do_sample=False,
                           max_new_tokens=request["max_new_tokens"])
        out.write(json.dumps({"text": reply[0].response_text}) + "\n")
os.replace(tmp, sys.argv[2])
