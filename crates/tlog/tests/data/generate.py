#!/usr/bin/env python3
"""Regenerates the committed test corpus of comity-tlog from implementations that are not ours.

    pip install tlog-scales==0.0.3          # brings pyca/cryptography
    NOTEVER=/path/to/notever python3 generate.py

* roots.txt: tree roots computed here with hashlib and RFC 9162's recursive definition.
* pylog/: a 300-entry C2SP tiled log written by tlog-scales (two commits: 100 entries, then
  200), its key, and the checkpoint after the first commit (pylog.checkpoint-100).
* proofs.json: inclusion and consistency proofs that tlog-scales computes from those tiles.
* notes.json: notes signed by notever (Go golang.org/x/mod/sumdb/note), and copies we broke.
* cosignature.json: a cosignature/v1 made here with pyca/cryptography.

Test keys only: every seed is SHA-256 of the key name.
"""
import base64, hashlib, json, os, shutil, subprocess, sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tlog_scales import signing, writer, reader, backend

here = Path(__file__).resolve().parent
b64 = lambda b: base64.b64encode(b).decode()

def entry(i):
    return f"comity fixture entry {i}".encode()

def leaf(e):
    return hashlib.sha256(b"\x00" + e).digest()

def mth(hs):
    if not hs:
        return hashlib.sha256(b"").digest()
    if len(hs) == 1:
        return hs[0]
    k = 1 << ((len(hs) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(hs[:k]) + mth(hs[k:])).digest()

# roots.txt
leaves = [leaf(entry(i)) for i in range(1100)]
with open(here / "roots.txt", "w") as f:
    f.write("# size, then the hex root of the tree of entries `comity fixture entry <i>` for i < size\n")
    for n in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 255, 256, 257, 511, 512, 513, 1000, 1024, 1099]:
        f.write(f"{n} {mth(leaves[:n]).hex()}\n")

# pylog/
name = "comity.example/fixture-log"
seed = hashlib.sha256(name.encode()).digest()
signer = signing.PlainEd25519Signer(name, seed)
pub = signer.key.public_key().public_bytes_raw()
vkey = signer.vkey.serialize()
key_id = signer.vkey.key_id
(here / "pylog.vkey").write_text(vkey + "\n")
(here / "pylog.skey").write_text(f"PRIVATE+KEY+{name}+{key_id:08x}+{b64(bytes([1]) + seed)}\n")
log_dir = here / "pylog"
if log_dir.exists():
    shutil.rmtree(log_dir)
w = writer.TilesWriter.create(log_dir, name)
for i in range(100):
    w.add_leaf(entry(i))
w.commit([signer])
shutil.copy(log_dir / "checkpoint", here / "pylog.checkpoint-100")
for i in range(100, 300):
    w.add_leaf(entry(i))
w.commit([signer])

# proofs.json
r = reader.TilesReader(backend.LocalBackend(log_dir))
cp = r.get_checkpoint()
inclusion = []
for size in [1, 2, 100, 255, 256, 257, 300]:
    for idx in sorted({0, size // 2, size - 1}):
        p = r.get_inclusion_proof(idx, size)
        inclusion.append({"index": idx, "size": size, "leaf_hash": b64(leaves[idx]),
                          "root": b64(r.mth(0, size)), "proof": [b64(h) for h in p.node_hashes]})
consistency = []
for old, new in [(1, 2), (1, 300), (100, 300), (255, 257), (256, 300), (257, 300), (299, 300), (300, 300)]:
    p = r.get_consistency_proof(old, new)
    consistency.append({"size1": old, "size2": new, "root1": b64(r.mth(0, old)), "root2": b64(r.mth(0, new)),
                        "proof": [b64(h) for h in p.node_hashes]})
(here / "proofs.json").write_text(json.dumps({"inclusion": inclusion, "consistency": consistency}, indent=1) + "\n")

# notes.json
notever = os.environ["NOTEVER"]
def go(*args, stdin=None):
    return subprocess.run([notever, *args], input=stdin, capture_output=True, text=True, check=True).stdout
keys = {}
for n in ["comity.example/alpha", "comity.example/beta"]:
    skey, vk = go("-keygen", n, hashlib.sha256(n.encode()).hexdigest()).split()
    keys[n] = (skey, vk)
tmp = here / "tmp-text"
def sign(text, names):
    tmp.write_text(text)
    out = go("-sign", ",".join(keys[n][0] for n in names), str(tmp))
    tmp.unlink()
    return out
def corrupt_last_signature(note):
    # A base64 character well past the key id, so the line stays beta's but fails.
    head, sig = note.rstrip("\n").rsplit(" ", 1)
    sig = sig[:20] + ("B" if sig[20] != "B" else "C") + sig[21:]
    return f"{head} {sig}\n"
alpha, beta = keys["comity.example/alpha"][1], keys["comity.example/beta"][1]
one = sign("a note signed by Go\n", ["comity.example/alpha"])
two = sign("two signers\n\nand an empty line inside\n", ["comity.example/alpha", "comity.example/beta"])
ckpt = sign(f"comity.example/alpha\n300\n{b64(mth(leaves[:300]))}\n", ["comity.example/alpha"])
cases = [
    {"id": "go-one-signer", "vkeys": [alpha], "note": one, "valid": True, "text": "a note signed by Go\n"},
    {"id": "go-two-signers-know-beta", "vkeys": [beta], "note": two, "valid": True,
     "text": "two signers\n\nand an empty line inside\n"},
    {"id": "go-two-signers-know-both", "vkeys": [alpha, beta], "note": two, "valid": True,
     "text": "two signers\n\nand an empty line inside\n"},
    {"id": "go-checkpoint", "vkeys": [alpha], "note": ckpt, "valid": True,
     "text": ckpt.split("\n\n")[0] + "\n"},
    {"id": "unknown-signer", "vkeys": [beta], "note": one, "valid": False},
    {"id": "text-changed", "vkeys": [alpha], "note": one.replace("Go", "Rust"), "valid": False},
    {"id": "no-final-newline", "vkeys": [alpha], "note": one[:-1], "valid": False},
    {"id": "crlf", "vkeys": [alpha], "note": one.replace("\n", "\r\n"), "valid": False},
    {"id": "hyphen", "vkeys": [alpha], "note": one.replace("\u2014", "-"), "valid": False},
    {"id": "one-good-one-bad", "vkeys": [alpha, beta], "note": corrupt_last_signature(two), "valid": False},
]
for c in cases:
    c["note_b64"] = b64(c.pop("note").encode())
(here / "notes.json").write_text(json.dumps({"skeys": {n: k[0] for n, k in keys.items()}, "cases": cases}, indent=1) + "\n")

# cosignature.json
wname = "comity.example/witness"
wkey = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(wname.encode()).digest())
wpub = wkey.public_key().public_bytes_raw()
wid = hashlib.sha256(wname.encode() + b"\n\x04" + wpub).digest()[:4]
body = (log_dir / "checkpoint").read_text().split("\n\n")[0] + "\n"
ts = 1767225600
msg = f"cosignature/v1\ntime {ts}\n{body}".encode()
line = f"\u2014 {wname} {b64(wid + ts.to_bytes(8, 'big') + wkey.sign(msg))}\n"
(here / "cosignature.json").write_text(json.dumps({
    "vkey": f"{wname}+{wid.hex()}+{b64(bytes([4]) + wpub)}",
    "timestamp": ts, "note": (log_dir / "checkpoint").read_text() + line}, indent=1) + "\n")
print("ok")
