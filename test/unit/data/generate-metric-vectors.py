#!/usr/bin/env python3
"""Generates test/unit/data/metric-vectors-generated.json.

    python3 test/unit/data/generate-metric-vectors.py > test/unit/data/metric-vectors-generated.json

sacreBLEU itself cannot be installed here (no PyPI), so this is an independent, deliberately naive
re-derivation of sacreBLEU 2.6's chrF and BLEU algorithms, written from their description: Python
Counters, Python's own str.split() / str.rstrip() / str.lower() and code-point strings, and the
`regex` module's Unicode classes for the intl tokenizer. Running it in real Python is the point:
Python's whitespace set, code-point indexing and regex semantics are what the TypeScript code must
reproduce. The rules it encodes (each a sacreBLEU 2.6 behaviour):

  chrF  - whitespace removed with ''.join(s.split()) unless kept; n-gram orders 1..char_order,
          word n-grams after the primitive punctuation split for chrF++;
        - per order: hypothesis count is 0 when the reference has no n-gram of that order;
        - the best reference per segment by sentence F (first on ties), stats summed over segments;
        - an empty reference is a reference with no n-grams (only None is dropped).
  BLEU  - lowercase, rstrip, tokenize (13a / intl / char / none), split; closest reference length
          (shorter on ties); clipped counts against the max count over references; '' is a
          zero-length reference; compute_bleu with exp / floor / add-k / none smoothing,
          effective order and max_ngram_order.

The random texts mix ASCII words, digits with separators, punctuation, symbols, accented letters,
an astral emoji, and the whitespace characters on which Python and JavaScript disagree
(U+0085, U+001C-U+001F, U+FEFF), plus short and empty references.
"""

import json
import math
import random
import re
import sys
from collections import Counter

import regex

PUNCTS = set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')


# ---------------------------------------------------------------- chrF
def char_ngrams(text, order, keep_ws):
    line = text if keep_ws else ''.join(text.split())
    return [Counter(line[i:i + n] for i in range(len(line) - n + 1)) for n in range(1, order + 1)]


def punct_split(text):
    out = []
    for w in text.split():
        if len(w) == 1:
            out.append(w)
        elif w[-1] in PUNCTS:
            out += [w[:-1], w[-1]]
        elif w[0] in PUNCTS:
            out += [w[0], w[1:]]
        else:
            out.append(w)
    return out


def word_ngrams(words, n):
    return Counter(' '.join(words[i:i + n]) for i in range(len(words) - n + 1))


def chrf_ngrams(text, o):
    text = text.lower() if o['lowercase'] else text
    grams = char_ngrams(text, o['char_order'], o['whitespace'])
    if o['word_order']:
        words = punct_split(text)
        grams += [word_ngrams(words, n) for n in range(1, o['word_order'] + 1)]
    return grams


def chrf_f(stats, o):
    beta2 = o['beta'] ** 2
    eps = 1e-16
    orders = o['char_order'] + o['word_order']
    smoothed, precs, recs = 0.0, [], []
    for k in range(orders):
        hyp, ref, match = stats[3 * k:3 * k + 3]
        p = match / hyp if hyp > 0 else eps
        r = match / ref if ref > 0 else eps
        d = beta2 * p + r
        smoothed += (1 + beta2) * p * r / d if d > 0 else eps
        if hyp > 0 and ref > 0:
            precs.append(p)
            recs.append(r)
    if o['eps_smoothing']:
        return 100 * smoothed / orders
    if not precs:
        return 0.0
    p = sum(precs) / len(precs)
    r = sum(recs) / len(recs)
    return 100 * (1 + beta2) * p * r / (beta2 * p + r) if p + r else 0.0


def chrf_segment(hyp, refs, o):
    h = chrf_ngrams(hyp, o)
    best, best_f = None, -1.0
    for ref in refs:
        stats = []
        for hc, rc in zip(h, chrf_ngrams(ref, o)):
            match = sum(min(c, rc[g]) for g, c in hc.items() if g in rc)
            stats += [sum(hc.values()) if rc else 0, sum(rc.values()), match]
        f = chrf_f(stats, o)
        if f > best_f:
            best, best_f = stats, f
    return best


def corpus_chrf(hyps, streams, o):
    total = [0] * (3 * (o['char_order'] + o['word_order']))
    for i, hyp in enumerate(hyps):
        seg = chrf_segment(hyp, [s[i] for s in streams], o)
        total = [a + b for a, b in zip(total, seg)]
    return chrf_f(total, o)


# ---------------------------------------------------------------- BLEU
def tok_13a(line):
    line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
    line = line.replace('&quot;', '"').replace('&amp;', '&').replace('&lt;', '<').replace('&gt;', '>')
    line = f' {line} '
    line = re.sub(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])', r' \1 ', line)
    line = re.sub(r'([^0-9])([\.,])', r'\1 \2 ', line)
    line = re.sub(r'([\.,])([^0-9])', r' \1 \2', line)
    line = re.sub(r'([0-9])(-)', r'\1 \2 ', line)
    return ' '.join(line.split())


def tok_intl(line):
    line = regex.sub(r'(\P{N})(\p{P})', r'\1 \2 ', line)
    line = regex.sub(r'(\p{P})(\P{N})', r' \1 \2', line)
    line = regex.sub(r'(\p{S})', r' \1 ', line)
    return ' '.join(line.split())


TOKENIZERS = {'13a': tok_13a, 'intl': tok_intl, 'char': lambda s: ' '.join(s), 'none': lambda s: s}


def bleu_tokens(text, o):
    text = text.lower() if o['lowercase'] else text
    return TOKENIZERS[o['tokenize']](text.rstrip()).split()


def all_ngrams(tokens, order):
    return Counter(tuple(tokens[i:i + n]) for n in range(1, order + 1) for i in range(len(tokens) - n + 1))


def bleu_segment(hyp, refs, o):
    order = o['max_ngram_order']
    h = bleu_tokens(hyp, o)
    ref_max, closest = Counter(), None
    for ref in refs:
        r = bleu_tokens(ref, o)
        key = (abs(len(h) - len(r)), len(r))
        closest = key if closest is None or key < closest else closest
        for g, c in all_ngrams(r, order).items():
            ref_max[g] = max(ref_max[g], c)
    correct, total = [0] * order, [0] * order
    for g, c in all_ngrams(h, order).items():
        correct[len(g) - 1] += min(c, ref_max[g])
        total[len(g) - 1] += c
    return [len(h), closest[1]] + correct + total


def bleu_score(stats, o):
    order = o['max_ngram_order']
    sys_len, ref_len = stats[0], stats[1]
    correct, total = list(stats[2:2 + order]), list(stats[2 + order:])
    method = o['smooth_method']
    value = o['smooth_value'] if o['smooth_value'] is not None else {'floor': 0.1, 'add-k': 1}.get(method)
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    precisions, mteval, eff = [0.0] * order, 1.0, order
    for n in range(1, order + 1):
        if method == 'add-k' and n > 1:
            correct[n - 1] += value
            total[n - 1] += value
        if total[n - 1] == 0:
            break
        if o['effective_order']:
            eff = n
        if correct[n - 1] == 0:
            if method == 'exp':
                mteval *= 2
                precisions[n - 1] = 100.0 / (mteval * total[n - 1])
            elif method == 'floor':
                precisions[n - 1] = 100.0 * value / total[n - 1]
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    logs = [math.log(p) if p > 0 else -9999999999 for p in precisions[:eff]]
    return bp * math.exp(sum(logs) / eff)


def corpus_bleu(hyps, streams, o):
    total = None
    for i, hyp in enumerate(hyps):
        seg = bleu_segment(hyp, [s[i] for s in streams], o)
        total = seg if total is None else [a + b for a, b in zip(total, seg)]
    return bleu_score(total, o), total


# ---------------------------------------------------------------- cases
FRAGMENTS = ['the', 'The', 'cat', 'sat', 'on', 'mat', 'Paris', 'capital', 'is', 'a', 'an', 'state-of-the-art',
             "isn't", 'dog.', 'dog', '(hi)', '1,000', '3.5', '10-20', 'e-mail', '$5', '&amp;', '"quoted"', 'café',
             'Ärger', 'naïve', 'x', 'y', 'z', '😀', 'end.', '?', '!', '—', '€', '½', '२०', '2024.']
SPACES = [' ', ' ', ' ', ' ', '  ', '\t', '\u0085', '\u001c', '\u001f', '\ufeff', '\u00a0', '\u3000']


def text(rng, max_words):
    words = [rng.choice(FRAGMENTS) for _ in range(rng.randint(0, max_words))]
    out = ''
    for i, w in enumerate(words):
        out += (rng.choice(SPACES) if i else '') + w
    if rng.random() < 0.3:
        out += rng.choice([' ', '\n', ' \n', '-\n', '\u0085', '\u001c', '\ufeff'])
    return out


def corpus(rng):
    n_seg = rng.randint(1, 3)
    n_refs = rng.choice([1, 1, 2])
    hyps = [text(rng, 9) for _ in range(n_seg)]
    streams = [[text(rng, rng.choice([1, 2, 9])) if rng.random() > 0.08 else '' for _ in range(n_seg)] for _ in range(n_refs)]
    return hyps, streams


CHRF_OPTIONS = [
    {}, {'word_order': 2}, {'beta': 3}, {'lowercase': True}, {'whitespace': True}, {'eps_smoothing': True},
    {'char_order': 4, 'word_order': 1}, {'word_order': 2, 'eps_smoothing': True},
]
BLEU_OPTIONS = [
    {}, {'tokenize': 'intl'}, {'tokenize': 'char'}, {'tokenize': 'none'}, {'max_ngram_order': 2},
    {'max_ngram_order': 6}, {'tokenize': 'intl', 'max_ngram_order': 3}, {'tokenize': 'char', 'max_ngram_order': 6},
    {'lowercase': True}, {'smooth_method': 'floor'}, {'smooth_method': 'add-k', 'smooth_value': 2},
    {'smooth_method': 'none', 'effective_order': True}, {'effective_order': True, 'max_ngram_order': 5},
]
CHRF_DEFAULTS = {'char_order': 6, 'word_order': 0, 'beta': 2, 'lowercase': False, 'whitespace': False, 'eps_smoothing': False}
BLEU_DEFAULTS = {'tokenize': '13a', 'max_ngram_order': 4, 'lowercase': False, 'smooth_method': 'exp',
                 'smooth_value': None, 'effective_order': False}


def main():
    rng = random.Random(16)
    chrf_cases, bleu_cases = [], []
    for k in range(120):
        hyps, streams = corpus(rng)
        opts = CHRF_OPTIONS[k % len(CHRF_OPTIONS)]
        chrf_cases.append({'hyps': hyps, 'refs': streams, 'options': opts,
                           'score': corpus_chrf(hyps, streams, {**CHRF_DEFAULTS, **opts})})
    for k in range(130):
        hyps, streams = corpus(rng)
        opts = BLEU_OPTIONS[k % len(BLEU_OPTIONS)]
        score, stats = corpus_bleu(hyps, streams, {**BLEU_DEFAULTS, **opts})
        bleu_cases.append({'hyps': hyps, 'refs': streams, 'options': opts, 'score': score, 'stats': stats})
    json.dump({'_generated_by': 'python3 test/unit/data/generate-metric-vectors.py (see its docstring)',
               'chrf': chrf_cases, 'bleu': bleu_cases}, sys.stdout, ensure_ascii=True, indent=0)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
