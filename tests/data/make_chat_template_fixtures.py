"""Writes tests/data/fixtures/chat_templates/: chat templates as tokenizer folders and what transformers renders.

Each template becomes a folder holding tokenizer_config.json (chat_template and the special tokens of
the model it comes from; Phi-3.5's as chat_template.jinja beside it, the form transformers saves), and
expected.jsonl holds, for every folder and conversation, transformers'
    tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...)
or the error it raised. The tokenizer is the folder's tokenizer_config.json over the Qwen3 fixture's
tokenizer.json, loaded by AutoTokenizer, so transformers resolves the template, the list-of-named-templates
form and AddedToken objects itself. strftime_now is pinned to 26 Jul 2024, as curate_dist pins it.

    .venv-llamafactory/bin/python tests/data/make_chat_template_fixtures.py LLAMA_CPP_TEMPLATES_DIR

LLAMA_CPP_TEMPLATES_DIR is models/templates of llama.cpp as vendored by the llama-cpp-python 0.3.36
source distribution (pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36); the two
tokenizers of /work/shared/testdata/tokenizers are read from tests/data/reference/tokenizers.
The outputs are committed (PROVENANCE.md says where each template comes from); the C++ test
(tests/data/chat_template_test.cpp) only reads them.
"""
import datetime as real_datetime
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import transformers
import transformers.utils.chat_template_utils as chat_template_utils
from transformers import AutoTokenizer

HERE = pathlib.Path(__file__).parent
OUT = HERE / "fixtures" / "chat_templates"
REFERENCE = HERE / "reference" / "tokenizers"


class FixedDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2024, 7, 26)


chat_template_utils.datetime = FixedDatetime  # strftime_now: datetime.now().strftime(format)

LLAMA3 = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
DEEPSEEK = {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}
MISTRAL = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
QWEN = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}

# folder name: (llama.cpp template file, special tokens, form); form is "string", "list" (named
# templates, "default" among them), "file" (chat_template.jinja) or "added_token" (eos as an AddedToken object)
LLAMA_CPP = {
    "deepseek_r1_distill_qwen": ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", DEEPSEEK, "string"),
    "deepseek_r1_distill_llama": ("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", DEEPSEEK, "string"),
    "llama3_1_instruct": ("meta-llama-Llama-3.1-8B-Instruct.jinja", LLAMA3, "string"),
    "llama3_2_instruct": ("meta-llama-Llama-3.2-3B-Instruct.jinja", LLAMA3, "string"),
    "llama3_3_instruct": ("meta-llama-Llama-3.3-70B-Instruct.jinja", LLAMA3, "string"),
    "mistral_nemo": ("mistralai-Mistral-Nemo-Instruct-2407.jinja", MISTRAL, "string"),
    "mistral_small_3_2": ("Mistral-Small-3.2-24B-Instruct-2506.jinja", MISTRAL, "string"),
    "devstral_small": ("unsloth-mistral-Devstral-Small-2507.jinja", MISTRAL, "string"),
    "gemma2": ("google-gemma-2-2b-it.jinja", {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
                                              "unk_token": "<unk>"}, "string"),
    "phi3_5": ("microsoft-Phi-3.5-mini-instruct.jinja", {"bos_token": "<s>", "eos_token": "<|endoftext|>",
                                                         "unk_token": "<unk>", "pad_token": "<|endoftext|>"}, "file"),
    "qwen2_5": ("Qwen-Qwen2.5-7B-Instruct.jinja", QWEN, "list"),
    "qwq": ("Qwen-QwQ-32B.jinja", QWEN, "string"),
    "qwen3_0_6b": ("Qwen-Qwen3-0.6B.jinja", QWEN, "added_token"),
    "smollm3": ("HuggingFaceTB-SmolLM3-3B.jinja", {"eos_token": "<|im_end|>", "pad_token": "<|im_end|>"}, "string"),
    "granite3_3": ("ibm-granite-granite-3.3-2B-Instruct.jinja", {"bos_token": "<|end_of_text|>",
                                                                 "eos_token": "<|end_of_text|>"}, "string"),
    "gpt_oss": ("openai-gpt-oss-120b.jinja", {"bos_token": "<|startoftext|>", "eos_token": "<|return|>",
                                              "pad_token": "<|endoftext|>"}, "string"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  Name a prime.\n"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Again"}],
    [{"role": "system", "content": "Réponds en français — ∑ 😀"},
     {"role": "user", "content": "日本語の質問: x² + 1 = 0?"},
     {"role": "assistant", "content": "<think>\nNo real root.\n</think>\n\nx = ±i"},
     {"role": "user", "content": "Ещё раз?"}],
    [{"role": "user", "content": ""}],
    [{"role": "system", "content": ""}, {"role": "user", "content": "Empty system"}],
]


def extract_reference(name, into):
    """The committed tokenizer fixture NAME (tar.zst, unpacked by tar and zstd) in INTO."""
    subprocess.run(["tar", "--zstd", "-xf", str(REFERENCE / f"{name}.tar.zst"), "-C", str(into)], check=True)
    return next(p for p in pathlib.Path(into).rglob("tokenizer_config.json") if p.parent.name == name).parent


def write_folder(name, template, tokens, form):
    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = dict(tokens)
    if form == "added_token":
        config["eos_token"] = {"__type": "AddedToken", "content": tokens["eos_token"], "lstrip": False,
                               "normalized": False, "rstrip": False, "single_word": False, "special": True}
    if form == "list":
        config["chat_template"] = [{"name": "tool_use", "template": "{{ raise_exception('not the default') }}"},
                                   {"name": "default", "template": template}]
    elif form == "file":
        (folder / "chat_template.jinja").write_text(template, encoding="utf-8")
    else:
        config["chat_template"] = template
    (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n",
                                                  encoding="utf-8")


def render_all(name, tokenizer_json):
    with tempfile.TemporaryDirectory() as tmp:
        for f in (OUT / name).iterdir():
            shutil.copy(f, tmp)
        config = json.loads((pathlib.Path(tmp) / "tokenizer_config.json").read_text(encoding="utf-8"))
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        (pathlib.Path(tmp) / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
        shutil.copy(tokenizer_json, tmp)
        tokenizer = AutoTokenizer.from_pretrained(tmp)
        for messages in CONVERSATIONS:
            for generation_prompt in (True, False):
                line = {"template": name, "messages": messages, "add_generation_prompt": generation_prompt}
                try:
                    line["prompt"] = tokenizer.apply_chat_template(messages, tokenize=False,
                                                                   add_generation_prompt=generation_prompt)
                except Exception as error:  # noqa: BLE001  (the template's own refusal is the expected result)
                    line["error"] = f"{type(error).__name__}: {error}"
                yield line


def main():
    templates = pathlib.Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        qwen3 = extract_reference("qwen3", tmp)
        llama = extract_reference("llama3_1", tmp)
        for name, folder in (("qwen3", qwen3), ("llama3_1", llama)):
            config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
            tokens = {k: v for k, v in config.items() if k.endswith("_token") and isinstance(v, str)}
            write_folder(name, config["chat_template"], tokens, "string")
        for name, (file, tokens, form) in LLAMA_CPP.items():
            write_folder(name, (templates / file).read_text(encoding="utf-8"), tokens, form)
        lines = []
        for name in ["qwen3", "llama3_1", *LLAMA_CPP]:
            lines.extend(render_all(name, qwen3 / "tokenizer.json"))
    with open(OUT / "expected.jsonl", "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    errors = sum("error" in line for line in lines)
    print(f"transformers {transformers.__version__}: {len(lines)} renderings ({errors} refused) "
          f"of {len(LLAMA_CPP) + 2} templates written to {OUT}")


if __name__ == "__main__":
    main()
