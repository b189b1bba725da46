"""Writes tests/data/reference/golden/gradients/<model>.json: the SFT-loss gradient of one example through
Hugging Face transformers in float64, the reference of tests/model/gradients_test.cpp.

Run from the repository root with a Python that has torch and transformers:
    /work/main/.venv-llamafactory/bin/python tests/data/make_gradient_reference.py

Example: sequence 1 of the model's golden.json; prompt = its first prompt_len ids, response = the rest,
capped at CAP tokens. Loss = mean over the CAP response tokens of -log p(response[k] | prompt,
response[:k]), i.e. logits rows t = prompt_len - 1 ... prompt_len + CAP - 2 (the scorer's positions
[begin, end)); prompt positions carry no loss. The model runs in float64 with SDPA attention (eager
attention takes its softmax in float32 whatever the model dtype) and RMSNorm patched to normalise in
float64 (stock transformers casts to float32), as our decoder does for float64: with either float32
step agreement would stop at float32 rounding (about 1e-8 relative on the loss). Rotary angles stay
float32 (transformers and our decoder compute them the same way).
"""
import json
import pathlib

import numpy as np
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parent / "reference" / "golden"
CAP = 40
SAMPLES_PER_TENSOR = 12
SEED = 28


def rms_forward(self, hidden_states):
    dtype = hidden_states.dtype
    h = hidden_states.to(torch.promote_types(torch.float32, dtype))
    variance = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(variance + self.variance_epsilon)
    return self.weight * h.to(dtype)


def main():
    transformers.models.qwen2.modeling_qwen2.Qwen2RMSNorm.forward = rms_forward
    transformers.models.llama.modeling_llama.LlamaRMSNorm.forward = rms_forward
    torch.set_num_threads(1)
    out_dir = ROOT / "gradients"
    out_dir.mkdir(exist_ok=True)
    for name in ["qwen2_tiny", "llama31_tiny"]:
        folder = ROOT / "models" / name
        seq = json.loads((folder / "golden.json").read_text())["sequences"][1]
        prompt = seq["input_ids"][: seq["prompt_len"]]
        response = seq["input_ids"][seq["prompt_len"] :]
        model = transformers.AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float64, attn_implementation="sdpa")
        model.eval()
        used = prompt + response[:CAP]
        ids = torch.tensor([used])
        logits = model(ids).logits[0]
        rows = torch.arange(len(prompt) - 1, len(prompt) - 1 + CAP)
        targets = ids[0, rows + 1]
        loss = -torch.log_softmax(logits[rows], -1).gather(1, targets[:, None]).mean()
        named = dict(model.named_parameters())  # a tied lm_head appears once, as the embedding
        grads = torch.autograd.grad(loss, list(named.values()))
        rng = np.random.default_rng(SEED)
        tensors = []
        for (pname, p), g in zip(named.items(), grads):
            flat = g.reshape(-1)
            idx = sorted(rng.choice(flat.numel(), size=min(SAMPLES_PER_TENSOR, flat.numel()), replace=False).tolist())
            tensors.append({"name": pname, "shape": list(p.shape), "norm": flat.norm().item(),
                            "index": idx, "value": [flat[i].item() for i in idx]})
        doc = {
            "provenance": f"tests/data/make_gradient_reference.py; transformers {transformers.__version__}, "
                          f"torch {torch.__version__}; float64, sdpa attention, float64 RMSNorm",
            "model": name, "prompt": prompt, "response": response, "cap": CAP,
            "loss": loss.item(), "tensors": tensors,
        }
        (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(name, "loss", loss.item(), "tensors", len(tensors))


if __name__ == "__main__":
    main()
