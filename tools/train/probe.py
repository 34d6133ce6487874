"""Probe: how many steps until a fresh model learns key matching?

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/train/probe.py --theta 1e4 --merge

Trains a model of train.py's shape on short, dense retrieval samples and prints,
every 50 steps, the mean teacher-forced accuracy of answers' first tokens
(the retrieval proper) over those steps. Copying *some* value scores about one
in the number of needles; only key matching goes beyond it. Nothing is saved:
this measures recipes in minutes before a full run (README, "Probes").

Sample formats:
  dense       needles in the real sentence format with a little filler, then a
              question for every key, in random order (--needles per sample)
  compact     bare `KEY: VALUE.` facts, then `KEY:` queries (MQAR-like)
  copy-repeat random tokens, then the same tokens again (loss on the repeat)
  copy-spans  random tokens, then spans copied from random earlier places
              (loss on each span's tokens after its first)
"""

import argparse
import json
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import distinct_keys, make_value, needle_text, question_text, sentence  # noqa: E402
from model import Config, Llama  # noqa: E402
from tok import BOS, SPECIALS, VOCAB, VOCAB_SIZE, encode  # noqa: E402
from vocab_words import KEY_WORDS  # noqa: E402

# --merge: a key and its colon become one token. The tokenizer has no such
# pieces, so the probe borrows each key word's `##` form (otherwise unused in
# single-word keys) as its "KEY:" token.
MERGED = {VOCAB[w]: VOCAB["##" + w] for w in KEY_WORDS}
COLON = VOCAB["##:"]


def merge_keys(ids):
    out = []
    for i in ids:
        if out and i == COLON and out[-1] in MERGED:
            out[-1] = MERGED[out[-1]]
        else:
            out.append(i)
    return out


def pad_with_filler(rng, ids, mask, length):
    while len(ids) < length + 1:
        t = encode(sentence(rng))
        ids += t
        mask += [0] * len(t)
    return ids[: length + 1], mask[: length + 1]


def answer(ids, mask, enc, q, a):
    tq, ta = enc(q), enc(a)
    ids += tq + ta
    mask += [0] * len(tq) + [2] + [3] * (len(ta) - 1)


def dense(rng, length, args, enc):
    keys = distinct_keys(rng, args.needles, ("word1",))
    facts = [(k, make_value(rng, rng.choice(args.values))) for k in keys]
    ids, mask = [BOS], [0]
    for k, v in facts:
        if rng.random() < 0.5:
            t = encode(sentence(rng))
            ids += t
            mask += [0] * len(t)
        t = enc(needle_text(k, v))
        ids += t
        mask += [0] * len(t)
    rng.shuffle(facts)
    for k, v in facts:
        answer(ids, mask, enc, question_text(k), v + ".")
    return pad_with_filler(rng, ids, mask, length)


def compact(rng, length, args, enc):
    keys = distinct_keys(rng, args.needles, ("word1",))
    facts = [(k, make_value(rng, rng.choice(args.values))) for k in keys]
    ids, mask = [BOS], [0]
    for k, v in facts:
        t = enc(f"{k}: {v}.")
        ids += t
        mask += [0] * len(t)
    rng.shuffle(facts)
    for k, v in facts:
        answer(ids, mask, enc, f"{k}:", v + ".")
    return pad_with_filler(rng, ids, mask, length)


def random_tokens(rng, n):
    return [rng.randrange(len(SPECIALS), VOCAB_SIZE) for _ in range(n)]


def copy_repeat(rng, length, args, enc):
    half = (length + 1) // 2
    seg = random_tokens(rng, half)
    ids = ([BOS] + seg + seg)[: length + 1]
    return ids, [0] * (half + 2) + [2] * (len(ids) - half - 2)


def copy_spans(rng, length, args, enc):
    first = length // 2
    seg = random_tokens(rng, first)
    ids, mask = [BOS] + seg, [0] * (first + 1)
    while len(ids) < length + 1:
        n = rng.randint(4, 16)
        s = rng.randrange(0, first - n)
        ids += seg[s : s + n]
        mask += [0] + [2] * (n - 1)
    return ids[: length + 1], mask[: length + 1]


FORMATS = {"dense": dense, "compact": compact, "copy-repeat": copy_repeat, "copy-spans": copy_spans}


def mimetic_init(model, cfg, q_scale, ov_scale, first_layer):
    """Trockman & Kolter's mimetic initialisation: W_Q^T W_K and W_O W_V start
    near (scaled) projections, so a head attends to and copies its own token."""
    hd, h = cfg.head_dim, cfg.hidden_size
    rep = cfg.num_attention_heads // cfg.num_key_value_heads
    with torch.no_grad():
        for layer in list(model.model.layers)[first_layer:]:
            at = layer.self_attn
            for g in range(cfg.num_key_value_heads):
                u = torch.linalg.qr(torch.randn(h, hd))[0].T
                v = torch.linalg.qr(torch.randn(h, hd))[0].T
                at.k_proj.weight[g * hd : (g + 1) * hd] = u + 0.02 * torch.randn(hd, h)
                at.v_proj.weight[g * hd : (g + 1) * hd] = v + 0.02 * torch.randn(hd, h)
                for r in range(rep):
                    c = slice((g * rep + r) * hd, (g * rep + r + 1) * hd)
                    at.q_proj.weight[c] = q_scale * u + 0.02 * torch.randn(hd, h)
                    at.o_proj.weight[:, c] = ov_scale / rep * v.T + 0.02 * torch.randn(h, hd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", choices=list(FORMATS), default="dense")
    ap.add_argument("--copy-steps", type=int, default=0, help="first N steps use copy-spans (128 tokens)")
    ap.add_argument("--theta", type=float, default=1e6, help="RoPE base")
    ap.add_argument("--merge", action="store_true", help="key and colon as one token")
    ap.add_argument("--length", type=int, default=160)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--needles", type=int, default=4)
    ap.add_argument("--values", default="word,number,uuid")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--kv-heads", type=int, default=1)
    ap.add_argument("--lm-weight", type=float, default=0.1)
    ap.add_argument("--mimetic", type=float, default=0.0, help="query scale of mimetic init (0: off)")
    ap.add_argument("--mimetic-ov", type=float, default=0.5)
    ap.add_argument("--mimetic-from", type=int, default=0, help="first layer given mimetic init")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    args.values = tuple(args.values.split(","))

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    cfg = Config(rope_theta=args.theta, num_hidden_layers=args.layers, num_attention_heads=args.heads,
                 num_key_value_heads=args.kv_heads)
    model = Llama(cfg)
    if args.mimetic:
        mimetic_init(model, cfg, args.mimetic, args.mimetic_ov, args.mimetic_from)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.05)

    def enc(text):
        return merge_keys(encode(text)) if args.merge else encode(text)

    t0, accs = time.time(), []
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1, (step + 1) / 50)
        make = copy_spans if step < args.copy_steps else FORMATS[args.format]
        length = 128 if step < args.copy_steps else args.length
        rows = [make(rng, length, args, enc) for _ in range(args.batch)]
        t = torch.tensor([r[0] for r in rows])
        kind = torch.tensor([r[1] for r in rows])[:, 1:]
        x, y = t[:, :-1], t[:, 1:]
        m = (kind > 0).float()
        w = m + 4 * (kind == 2).float()
        logits = model(x)
        ce = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), y.reshape(-1), reduction="none").view_as(m)
        loss = (ce * w).sum() / w.sum() + args.lm_weight * ce.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            first = (kind == 2).float()
            accs.append(((logits.argmax(-1) == y).float() * first).sum().item() / first.sum().item())
        if (step + 1) % 50 == 0:
            print(json.dumps({"step": step + 1, "first_token_acc": round(sum(accs[-50:]) / 50, 3),
                              "loss": round(loss.item(), 3), "elapsed_s": round(time.time() - t0)}), flush=True)


if __name__ == "__main__":
    main()
