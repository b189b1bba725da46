"""Writes the dataset-format fixtures under tests/data/fixtures/formats/ from one set of records:
OpenAI `messages` records with <think> traces and unique ids, as JSON Lines, one JSON array, one
Parquet file and a dataset folder laid out as `hf download --repo-type dataset` leaves it.

    PYTHONPATH=<pyarrow> .venv/bin/python tests/data/make_format_fixtures.py
The outputs are committed; the C++ tests only read them.
"""
import json
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).parent / "fixtures" / "formats"
RECORDS = [
    {
        "id": f"ex-{i:02d}",
        "messages": [
            {"role": "user", "content": f"What is {i} + {i}?"},
            {"role": "assistant", "content": f"<think>\n{i} plus {i} is {2 * i}; café {'x' * i}.\n</think>\n\n{2 * i}"},
        ],
        "source": "math_a" if i % 3 else "math_b",
    }
    for i in range(1, 13)
]


def main():
    HERE.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in RECORDS)
    (HERE / "think.jsonl").write_text(lines, encoding="utf-8")
    (HERE / "think.json").write_text(json.dumps(RECORDS, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = pa.Table.from_pylist(RECORDS)
    pq.write_table(table, HERE / "think.parquet", row_group_size=5)  # three row groups
    hub = HERE / "hub"
    (hub / "data").mkdir(parents=True, exist_ok=True)
    (hub / "README.md").write_text("---\nconfigs: [{config_name: default, data_files: data/*}]\n---\n")
    (hub / ".cache").mkdir(exist_ok=True)
    (hub / ".cache" / "train-stale.jsonl").write_text("not read\n")
    pq.write_table(pa.Table.from_pylist(RECORDS[:7]), hub / "data" / "train-00000-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(RECORDS[7:]), hub / "data" / "train-00001-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(RECORDS[:2]), hub / "data" / "test-00000-of-00001.parquet")


if __name__ == "__main__":
    main()
