"""Loads every export of a selection folder with LLaMA-Factory's own loader and with
datasets.load_dataset("json", ...), and checks that the loaded turns equal the text of the input
records. Run by tests/e2e/llamafactory_test.sh with the venv of launch/setup_llamafactory.sh:
    python llamafactory_check.py FOLDER NAME:SOURCE[:FIELDS] ...
NAME is a dataset_info.json entry (NAME.jsonl in FOLDER), SOURCE the dataset it was selected from
(each selected line must be one of its records, after a BOM and "\\r" are dropped), FIELDS the flat
field names "prompt,response" (alpaca entries) or "prompt,reasoning,answer" when the export was
converted from flat records with the default template, or "conv" for converted conversations."""
import json
import sys
from types import SimpleNamespace

import datasets
from llamafactory.data.loader import _load_single_dataset
from llamafactory.data.parser import get_dataset_list

ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


def input_records(path):
    data = open(path, "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = [l[:-1] if l.endswith(b"\r") else l for l in data.split(b"\n") if l.strip()]
    return {json.dumps(json.loads(l), sort_keys=True): json.loads(l) for l in lines}


def expected_turns(record, fields):
    """(system, [(role, text)...]) a trainer must see for `record` as written in the input."""
    if fields:
        names = fields.split(",")
        if len(names) == 2:
            answer = record[names[1]]
        else:
            reasoning, tail = record[names[1]], record[names[2]]
            answer = reasoning + tail if "<think>" in reasoning else "<think>\n" + reasoning + "\n</think>\n\n" + tail
        return record.get("system") or "", [("user", record[names[0]]), ("assistant", answer)]
    turns = record.get("conversations") or record.get("messages")
    out = [(ROLE[t.get("from", t.get("role"))], t.get("value", t.get("content"))) for t in turns]
    system = record.get("system") or ""
    if out and out[0][0] == "system":
        system, out = out[0][1], out[1:]
    return system, out


def main():
    folder, specs = sys.argv[1], sys.argv[2:]
    info = json.load(open(f"{folder}/dataset_info.json"))
    model_args = SimpleNamespace(cache_dir=None, hf_hub_token=None)
    data_args = SimpleNamespace(dataset_dir=folder, preprocessing_num_workers=None, streaming=False, max_samples=None,
                                overwrite_cache=True, media_dir=folder)
    training_args = SimpleNamespace(local_process_index=0, dataloader_num_workers=0)
    for spec in specs:
        name, source, *fields = spec.split(":")
        fields = fields[0] if fields else ""
        assert name in info, f"{name} has no dataset_info.json entry"
        records = input_records(f"{folder}/{source}")
        written = [json.loads(l) for l in open(f"{folder}/{info[name]['file_name']}", encoding="utf-8")]
        plain = datasets.load_dataset("json", data_files=f"{folder}/{info[name]['file_name']}", split="train")
        assert len(plain) == len(written), (name, len(plain), len(written))
        aligned = _load_single_dataset(get_dataset_list([name], folder)[0], model_args, data_args, training_args)
        assert len(aligned) == len(written), (name, len(aligned), len(written))
        for row, loaded, line in zip(aligned, plain, written):
            # datasets: every key of the line, same values (absent keys of other lines read as None)
            assert {k: v for k, v in loaded.items() if v is not None or k in line} == line, (name, loaded, line)
            verbatim = name.endswith(".selected")  # the records as they are; other names were converted
            source_record = line if verbatim else find_source(records, line, fields)
            system, turns = expected_turns(source_record, "" if fields == "conv" else fields)
            got = [(t["role"], t["content"]) for t in row["_prompt"] + row["_response"]]
            assert got == turns, (name, got, turns)
            assert (row["_system"] or "") == system, (name, row["_system"], system)
            if verbatim:
                assert json.dumps(line, sort_keys=True) in records, (name, "not an input record", line)
        print(f"ok: {name}: {len(written)} records load in LLaMA-Factory ({info[name]['formatting']}) and datasets, "
              "turns equal to the input text")


def find_source(records, line, fields):
    """The input record a converted line came from: same values for every key the conversion kept."""
    kept = {k: v for k, v in line.items() if k not in ("conversations", "messages")}
    prompt = (line.get("conversations") or line.get("messages"))[0]
    prompt = prompt.get("value", prompt.get("content"))
    matches = [r for r in records.values()
               if (fields == "conv" or r.get(fields.split(",")[0]) == prompt) and all(r.get(k) == v for k, v in kept.items())]
    assert len(matches) == 1, (line, len(matches))
    return matches[0]


if __name__ == "__main__":
    main()
