"""Text generators of the demo: the SFT records of configs/demo/data.jsonl and the plain-text corpus
the demo's base model is pre-trained on (launch/train_demo_models.py imports this module).

Everything is drawn from random.Random(seed), so the same seed gives the same bytes on every machine
(standard library only). Two domains, five sources that differ in ways the selection should see:

  math     arith       short column arithmetic traces; most are one addition or subtraction, about a
                       third are two-digit multiplications with partial products (harder digits)
  math     wordprob    long word problems of 3 to 6 steps, each step computed, then a check
  math     scraped     the noisy source: traces cut off mid-sentence, steps that contradict each other
                       ("= 94 ... wait, = 96 ... so 90"), duplicated lines and answers that do not
                       follow; about a quarter are clean
  medical  medqa       short multiple-choice vignettes: two findings, the diagnosis, one distractor
                       ruled out; some vignettes are atypical (a misleading finding to rule out)
  medical  cases       long case discussions: findings, three differentials weighed one by one, the
                       test and its result, the treatment and a safety check

Records are ShareGPT conversations whose assistant turn is "<think>\\n...\\n</think>\\n\\nANSWER", as
in distilled reasoning sets (data.think_begin = <think> in configs/demo.ini).
"""
import json
import random

# disease: (classic findings, test, result, treatment)
DISEASES = {
    "pneumonia": (["fever", "productive cough", "crackles over one lung", "pleuritic pain"],
                  "a chest x-ray", "a lobar consolidation", "oral antibiotics"),
    "myocardial infarction": (["crushing chest pain", "sweating", "pain spreading to the left arm", "nausea"],
                              "an ECG and a troponin", "ST elevation and a raised troponin", "urgent coronary angioplasty"),
    "pulmonary embolism": (["sudden breathlessness", "a fast heart rate", "recent surgery", "a swollen calf"],
                           "a CT pulmonary angiogram", "a filling defect in the pulmonary artery", "anticoagulation"),
    "appendicitis": (["right lower quadrant pain", "loss of appetite", "low grade fever", "pain that began around the navel"],
                     "an abdominal ultrasound", "a thick non compressible appendix", "an appendectomy"),
    "diabetic ketoacidosis": (["heavy thirst", "passing a lot of urine", "vomiting", "fruity breath"],
                              "a blood gas with glucose and ketones", "high glucose, ketones and acidosis",
                              "intravenous fluids and insulin"),
    "meningitis": (["severe headache", "a stiff neck", "fever", "dislike of bright light"],
                   "a lumbar puncture", "cloudy fluid full of neutrophils", "intravenous antibiotics"),
    "hypothyroidism": (["tiredness", "weight gain", "feeling cold", "dry skin"],
                       "a TSH level", "a high TSH with a low T4", "levothyroxine"),
    "iron deficiency anemia": (["tiredness", "pale skin", "heavy periods", "breathlessness on stairs"],
                               "a blood count and ferritin", "small red cells and a low ferritin", "oral iron"),
    "asthma": (["wheeze", "cough at night", "tight chest after exercise", "breathlessness that comes and goes"],
               "spirometry", "obstruction that reverses with a bronchodilator", "an inhaled steroid"),
    "urinary tract infection": (["burning on passing urine", "passing urine often", "lower abdominal pain", "cloudy urine"],
                                "a urine dipstick", "nitrites and white cells", "a short course of antibiotics"),
    "stroke": (["sudden weakness of one side", "a drooping face", "slurred speech", "loss of vision in one eye"],
               "a CT of the head", "no bleeding", "clot busting treatment"),
    "gout": (["a hot swollen big toe", "pain that began overnight", "red shiny skin over the joint", "a history of heavy drinking"],
             "a joint aspiration", "needle shaped urate crystals", "anti inflammatory drugs"),
    "heart failure": (["breathlessness on exertion", "breathlessness lying flat", "swollen ankles", "waking up breathless"],
                      "an echocardiogram", "a low ejection fraction", "diuretics"),
    "cholecystitis": (["right upper quadrant pain", "pain after fatty meals", "fever", "pain on deep breath in"],
                      "an abdominal ultrasound", "a thick gallbladder wall with stones", "removal of the gallbladder"),
}
NAMES = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "June", "Kai", "Lena"]
ITEMS = ["apples", "pencils", "marbles", "stickers", "books", "coins", "eggs", "cards"]


def think(trace, answer):
    return "<think>\n" + trace.strip() + "\n</think>\n\n" + answer


def record(rid, source, domain, question, assistant):
    return {"id": rid, "source": source, "domain": domain,
            "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": assistant}]}


# ---- math -------------------------------------------------------------------------------------------

def add_trace(a, b):
    lines = ["We add %d and %d." % (a, b)]
    carry, ones = divmod(a % 10 + b % 10, 10)
    lines.append("Ones: %d + %d = %d, write %d, carry %d." % (a % 10, b % 10, a % 10 + b % 10, ones, carry))
    lines.append("Tens: %d + %d + %d = %d." % (a // 10, b // 10, carry, a // 10 + b // 10 + carry))
    lines.append("So %d + %d = %d." % (a, b, a + b))
    return "\n".join(lines), a + b


def sub_trace(a, b):
    lines = ["We subtract %d from %d." % (b, a)]
    if a % 10 < b % 10:
        lines.append("Ones: %d is less than %d, so borrow: %d - %d = %d." % (a % 10, b % 10, a % 10 + 10, b % 10,
                                                                              a % 10 + 10 - b % 10))
        lines.append("Tens: %d - 1 - %d = %d." % (a // 10, b // 10, a // 10 - 1 - b // 10))
    else:
        lines.append("Ones: %d - %d = %d." % (a % 10, b % 10, a % 10 - b % 10))
        lines.append("Tens: %d - %d = %d." % (a // 10, b // 10, a // 10 - b // 10))
    lines.append("So %d - %d = %d." % (a, b, a - b))
    return "\n".join(lines), a - b


def mul_trace(a, b):
    tens, ones = divmod(b, 10)
    lines = ["We multiply %d by %d." % (a, b),
             "Split %d into %d and %d." % (b, tens * 10, ones),
             "%d x %d = %d." % (a, ones, a * ones),
             "%d x %d = %d." % (a, tens * 10, a * tens * 10),
             "Add the parts: %d + %d = %d." % (a * ones, a * tens * 10, a * b),
             "So %d x %d = %d." % (a, b, a * b)]
    return "\n".join(lines), a * b


def arith(r):
    kind = r.random()
    if kind < 0.35:
        a, b = r.randint(12, 99), r.randint(12, 99)
        trace, value = mul_trace(a, b)
        question = "What is %d x %d?" % (a, b)
    elif kind < 0.7:
        a, b = r.randint(10, 89), r.randint(10, 89)
        trace, value = add_trace(a, b)
        question = "What is %d + %d?" % (a, b)
    else:
        a = r.randint(30, 99)
        b = r.randint(10, a - 1)
        trace, value = sub_trace(a, b)
        question = "What is %d - %d?" % (a, b)
    return question, trace, str(value)


def word_problem(r, steps):
    """A problem of `steps` operations on one running count; returns (question, trace lines, answer)."""
    name, item = r.choice(NAMES), r.choice(ITEMS)
    boxes, per = r.randint(3, 12), r.randint(4, 12)
    total = boxes * per
    story = ["%s has %d boxes with %d %s in each." % (name, boxes, per, item)]
    trace = ["Step 1: %s starts with %d boxes of %d, so %d x %d = %d %s." % (name, boxes, per, boxes, per, total, item)]
    for step in range(2, steps + 1):
        op = r.choice(["give", "buy", "lose", "share"]) if total > 20 else "buy"
        if op == "give":
            n = r.randint(2, total // 3)
            story.append("%s gives %d %s to a friend." % (name, n, item))
            trace.append("Step %d: giving away %d leaves %d - %d = %d." % (step, n, total, n, total - n))
            total -= n
        elif op == "lose":
            n = r.randint(1, total // 4)
            story.append("Then %d %s are lost." % (n, item))
            trace.append("Step %d: losing %d leaves %d - %d = %d." % (step, n, total, n, total - n))
            total -= n
        elif op == "buy":
            packs, size = r.randint(2, 6), r.randint(3, 9)
            story.append("%s buys %d packs of %d %s." % (name, packs, size, item))
            trace.append("Step %d: the packs hold %d x %d = %d, so %d + %d = %d." % (
                step, packs, size, packs * size, total, packs * size, total + packs * size))
            total += packs * size
        else:
            people = r.choice([2, 3, 4])
            keep = total - total % people
            story.append("%s shares the %s equally among %d people, %s included, and keeps what is left over." % (
                name, item, people, name))
            trace.append("Step %d: %d divided by %d is %d with %d left over, so %s keeps %d." % (
                step, total, people, keep // people, total % people, name, total % people))
            total = total % people + (keep // people)  # keeps the remainder and one share
            trace.append("With one share of %d that makes %d." % (keep // people, total))
    story.append("How many %s does %s have at the end?" % (item, name))
    trace.append("Check: every step used the count from the step before, and the last count is %d." % total)
    return " ".join(story), trace, "%s has %d %s." % (name, total, item)


def wordprob(r):
    question, trace, answer = word_problem(r, r.choice([3, 4, 5, 6]))
    return question, "Let me work through it step by step.\n" + "\n".join(trace), answer


def scraped(r):
    """Noisy math traces: truncated, contradictory, repeated or mismatched; a quarter are clean."""
    if r.random() < 0.5:
        question, trace, answer = arith(r)
    else:
        question, trace, answer = wordprob(r)
    lines = trace.split("\n")
    kind = r.random()
    if kind < 0.25:
        return question, trace, answer
    if kind < 0.45:  # cut off mid-sentence, no answer
        text = "\n".join(lines)
        return question, text[:r.randint(len(text) // 4, len(text) // 2)], ""
    if kind < 0.7:  # contradictory arithmetic
        out = []
        for line in lines:
            words = line.split(" ")
            numbers = [i for i, w in enumerate(words) if w.rstrip(".,").isdigit()]
            if numbers and r.random() < 0.6:
                i = r.choice(numbers)
                value = int(words[i].rstrip(".,"))
                wrong = value + r.choice([-10, -2, -1, 1, 2, 10])
                words[i] = words[i].replace(str(value), str(wrong))
                out.append(" ".join(words))
                out.append("Wait, that is wrong. " + line + " Hmm, or maybe %d." % (wrong + r.choice([-3, 3])))
            else:
                out.append(line)
        return question, "\n".join(out), str(r.randint(1, 200))
    if kind < 0.85:  # repeated lines, shuffled order
        out = lines + r.sample(lines, min(3, len(lines)))
        r.shuffle(out)
        return question, "\n".join(out), answer
    other_question, other_trace, other_answer = wordprob(r)  # the trace of another problem
    return question, other_trace, other_answer


# ---- medicine ---------------------------------------------------------------------------------------

def vignette(r, disease, count, atypical):
    findings = r.sample(DISEASES[disease][0], count)
    misleading = None
    if atypical:
        other = r.choice([d for d in DISEASES if d != disease])
        misleading = (other, r.choice(DISEASES[other][0]))
    age, sex = r.randint(19, 84), r.choice(["man", "woman"])
    shown = findings + ([misleading[1]] if misleading else [])
    r.shuffle(shown)
    return "A %d-year-old %s presents with %s." % (age, sex, ", ".join(shown[:-1]) + " and " + shown[-1]), findings, misleading


def medqa(r):
    disease = r.choice(sorted(DISEASES))
    atypical = r.random() < 0.35
    case, findings, misleading = vignette(r, disease, 2, atypical)
    options = r.sample([d for d in sorted(DISEASES) if d != disease], 3) + [disease]
    r.shuffle(options)
    letters = "ABCD"
    question = case + " What is the most likely diagnosis? " + " ".join(
        "%s) %s" % (letters[i], o) for i, o in enumerate(options))
    distractor = next(o for o in options if o != disease)
    trace = ["The key findings are %s and %s." % tuple(findings),
             "Together they point to %s." % disease]
    if misleading:
        trace.append("The %s is more typical of %s, but %s alone does not explain the rest." % (
            misleading[1], misleading[0], misleading[0]))
    trace.append("%s would show %s instead." % (distractor.capitalize(), " and ".join(DISEASES[distractor][0][:2])))
    letter = letters[options.index(disease)]
    trace.append("So the answer is %s." % letter)
    return question, "\n".join(trace), "%s) %s" % (letter, disease)


def case_discussion(r):
    disease = r.choice(sorted(DISEASES))
    case, findings, misleading = vignette(r, disease, 3, r.random() < 0.5)
    others = r.sample([d for d in sorted(DISEASES) if d != disease], 2)
    differentials = others + [disease]
    r.shuffle(differentials)
    symptoms, test, result, treatment = DISEASES[disease]
    trace = ["Let me list the findings first: %s." % ", ".join(findings)]
    if misleading:
        trace.append("There is also %s, which I should keep in mind." % misleading[1])
    trace.append("The differential includes %s." % ", ".join(differentials))
    for d in differentials:
        fits = [f for f in findings if f in DISEASES[d][0]]
        if d == disease:
            trace.append("%s: it explains %s." % (d.capitalize(), ", ".join(fits)))
        else:
            trace.append("%s: it would give %s, which this patient does not have, so it is less likely." % (
                d.capitalize(), " and ".join(DISEASES[d][0][:2])))
    if misleading:
        trace.append("The %s fits %s better, but one finding is not enough to change the diagnosis." % (
            misleading[1], misleading[0]))
    trace.append("To confirm %s I would order %s." % (disease, test))
    trace.append("The result shows %s, which confirms it." % result)
    trace.append("The treatment is %s." % treatment)
    trace.append("Before treating I check for allergies and kidney function, then review the patient the next day.")
    return case + " Discuss the diagnosis and management.", "\n".join(trace), \
        "The diagnosis is %s; confirm it with %s and treat with %s." % (disease, test, treatment)


# ---- the demo set and the corpus --------------------------------------------------------------------

SOURCES = [  # (source, domain, generator, records)
    ("arith", "math", arith, 110),
    ("wordprob", "math", wordprob, 80),
    ("scraped", "math", scraped, 80),
    ("medqa", "medical", medqa, 100),
    ("cases", "medical", case_discussion, 60),
]


def demo_records(seed=20):
    """The SFT records of the demo, sources interleaved in a fixed order."""
    r = random.Random(seed)
    todo = [s for s in SOURCES for _ in range(s[3])]
    r.shuffle(todo)
    counts = {}
    out = []
    for source, domain, make, _ in todo:
        counts[source] = counts.get(source, 0) + 1
        question, trace, answer = make(r)
        out.append(record("%s-%03d" % (source, counts[source]), source, domain, question, think(trace, answer)))
    return out


def corpus(seed=7, documents=4000):
    """Text the base model is pre-trained on, standing in for the web and instruction data a real base
    model has seen: worked problems of every clean kind (arithmetic, word problems, vignettes, case
    discussions), half as plain "Problem: ... Solution: ... Answer: ..." text and half as ChatML
    conversations with a <think> block, arithmetic drills and medical textbook sentences. No noisy
    traces: what the fine-tune adds is the demo's own records, the scraped ones included."""
    r = random.Random(seed)
    makers = [(0.25, arith), (0.4, wordprob), (0.6, medqa), (0.72, case_discussion)]
    out = []
    for _ in range(documents):
        kind = r.random()
        make = next((m for limit, m in makers if kind < limit), None)
        if make is not None:
            question, trace, answer = make(r)
            if r.random() < 0.5:
                out.append("Problem: " + question + "\nSolution:\n" + trace + "\nAnswer: " + answer)
            else:
                out.append("<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n" +
                           think(trace, answer) + "<|im_end|>\n")
        elif kind < 0.85:
            a, b = r.randint(2, 99), r.randint(2, 99)
            out.append(" ".join("%d + %d = %d." % (x, y, x + y) for x, y in [(a, b), (b, a), (a, a)]) +
                       " %d x %d = %d." % (a % 13, b % 13, (a % 13) * (b % 13)))
        else:
            disease = r.choice(sorted(DISEASES))
            symptoms, test, result, treatment = DISEASES[disease]
            shown = r.sample(symptoms, 3)
            out.append("%s presents with %s, %s and %s. The diagnosis is confirmed by %s, which shows %s. "
                       "The treatment is %s." % (disease.capitalize(), *shown, test, result, treatment))
    return out


if __name__ == "__main__":
    import sys
    path = sys.argv[1] if len(sys.argv) > 1 else "configs/demo/data.jsonl"
    with open(path, "w") as f:
        for rec in demo_records():
            f.write(json.dumps(rec) + "\n")
