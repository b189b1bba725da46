"""Reading an evaluation record (its prompt turns and reference response) and checking answers.

Extractors (compare.extractor): boxed (the last \\boxed{...}), choice (a multiple-choice letter A-J:
"the answer is C", "C) ...", or a lone letter), number (the last number, commas dropped), auto (boxed
when the text has one, else choice when the gold answer is one letter, else number). A response's
reasoning (up to the last </think>) is skipped when the text has that marker.
"""
import re

BOXED = re.compile(r"\\boxed\{")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
CHOICE_PATTERNS = [re.compile(r"answer is:?\s*\(?([A-J])\b"), re.compile(r"^\s*\(?([A-J])\)", re.M),
                   re.compile(r"^\s*([A-J])\s*$", re.M)]


def conversation(record, fields):
    """(messages [{role, content}] before the last assistant turn, system or None, reference response or None)."""
    turns = record.get(fields.get("data.conversations_field", "conversations")) or record.get(
        fields.get("data.messages_field", "messages"))
    if isinstance(turns, list) and turns:
        messages, system = [], None
        for t in turns:
            role = t.get("from", t.get("role"))
            text = t.get("value", t.get("content"))
            role = {"human": "user", "gpt": "assistant"}.get(role, role)
            if role == "system":
                system = text
            else:
                messages.append({"role": role, "content": text})
        reference = None
        if messages and messages[-1]["role"] == "assistant":
            reference = messages.pop()["content"]
        return messages, record.get("system", system), reference
    prompt = record.get(fields.get("data.prompt_field", "prompt"))
    reference = record.get(fields.get("data.response_field", "response"))
    if reference is None and record.get(fields.get("data.answer_field", "distilled_answer_string")) is not None:
        reference = str(record[fields.get("data.answer_field", "distilled_answer_string")])
    return [{"role": "user", "content": str(prompt)}], record.get("system"), reference


def boxed(text):
    starts = [m.end() for m in BOXED.finditer(text)]
    if not starts:
        return None
    depth, i = 1, starts[-1]
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[starts[-1]:i - 1].strip() if depth == 0 else None


def choice(text):
    for pattern in CHOICE_PATTERNS:
        found = pattern.findall(text)
        if found:
            return found[-1]
    return None


def number(text):
    found = NUMBER.findall(text)
    return found[-1].replace(",", "") if found else None


def extract(text, extractor, gold=None):
    """The answer a response gives, or None."""
    if text is None:
        return None
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    if extractor == "boxed" or (extractor == "auto" and BOXED.search(text)):
        return boxed(text)
    if extractor == "choice" or (extractor == "auto" and gold is not None and re.fullmatch(r"[A-J]", str(gold).strip())):
        return choice(text)
    if extractor == "auto" and gold is None and choice(text) and not NUMBER.search(text):
        return choice(text)
    return number(text)


def same(predicted, gold):
    if predicted is None or gold is None:
        return False
    a, b = str(predicted).strip(), str(gold).strip()
    if a == b:
        return True
    try:
        return abs(float(eval_fraction(a)) - float(eval_fraction(b))) < 1e-9
    except (ValueError, ZeroDivisionError):
        return a.lower() == b.lower()


def eval_fraction(text):
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    return float(text.replace(",", ""))
