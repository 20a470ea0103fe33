#!/usr/bin/env python3
"""Check an actledger answer bundle, knowing nothing but docs/PROOFS.md (Python 3 standard
library; the Ed25519 signatures with the `cryptography` package when it is installed).

usage: check_answer.py [--json] VKEY BUNDLE     (VKEY: a .vkey file or the key line itself)

Checks both signed notes (checkpoint and state statement), that the statement names the
checkpoint's origin, size and root, every hash from the leaves up to the state root, and that
the answer is exactly what the proven segment says for the day. Prints the answer and the
checkpoint it holds against and exits 0; prints "not verified: why" and exits 3; exits 1 when
a file cannot be read. Without `cryptography`, says that the signatures were not checked.
"""
import base64
import binascii
import hashlib
import json
import os
import re
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # the signatures are then skipped, and the output says so
    Ed25519PublicKey = None

BUNDLE_FORMAT = "actledger answer bundle v1"
STATEMENT_HEADER = "actledger state statement v1"
SEGMENT_LEAF, SEGMENT_NODE, OFFICE_LEAF, OFFICE_NODE = 0x10, 0x11, 0x12, 0x13
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
HEX = re.compile(r"[0-9a-f]{64}")


class NotVerified(Exception):
    pass


def check(ok, why):
    if not ok:
        raise NotVerified(why)


def sha256(b):
    return hashlib.sha256(b).digest()


def b64(text, what):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NotVerified(f"{what} is not base64")


def parse_vkey(line):
    parts = line.strip().split("+", 2)
    check(len(parts) == 3, "the verifier key is not a key line (name+id+key)")
    name, key_id, key = parts
    key = b64(key, "the verifier key")
    check(len(key) == 33 and key[0] == 1, "not an Ed25519 verifier key")
    check(sha256(name.encode() + b"\n" + key)[:4].hex() == key_id, "the key id does not match")
    return name, key_id, key[1:]


def open_note(note, vkey):
    """The text of a signed note signed by `vkey` (C2SP signed note)."""
    name, key_id, public = vkey
    check(isinstance(note, str) and note.endswith("\n"), "a note ends in a newline")
    text, sep, sigs = note.rpartition("\n\n")
    check(sep, "a note has a blank line before its signatures")
    text += "\n"
    signed = False
    for line in sigs[:-1].split("\n"):
        check(line.startswith("\u2014 "), "a signature line starts with an em dash")
        sig_name, _, sig = line[2:].partition(" ")
        sig = b64(sig, "a signature")
        if sig_name == name and len(sig) == 68 and sig[:4].hex() == key_id:
            if Ed25519PublicKey is not None:
                try:
                    Ed25519PublicKey.from_public_bytes(public).verify(sig[4:], text.encode())
                except InvalidSignature:
                    raise NotVerified(f"a bad signature by {name}")
            signed = True
    check(signed, f"not signed by {name}")
    return text


def number(text, what):
    check(re.fullmatch(r"0|[1-9][0-9]*", text) is not None, f"{what} is not a number")
    return int(text)


def root_line(text, what):
    root = b64(text, what)
    check(len(root) == 32 and base64.b64encode(root).decode() == text, f"{what} is not a hash")
    return root


def same(a, b):
    """Equal as JSON: true is not 1, nor 7.0 seven."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def node(prefix, left, right):
    return sha256(bytes([prefix]) + left + right)


def root_from_path(leaf_prefix, node_prefix, data, index, size, path):
    """RFC 9162 2.1.3.2 under the state trees' prefixes."""
    check(isinstance(index, int) and 0 <= index < size, "a leaf index outside its tree")
    fn, sn, r = index, size - 1, sha256(bytes([leaf_prefix]) + data)
    for p in path:
        check(sn > 0, "a path too long")
        if fn & 1 or fn == sn:
            r = node(node_prefix, p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node(node_prefix, r, p)
        fn >>= 1
        sn >>= 1
    check(sn == 0, "a path too short")
    return r


def leaf(proof, leaf_prefix, node_prefix, size, root, what):
    """Checks a {leaf, index, path} up to `root`; returns the parsed leaf."""
    check(isinstance(proof, dict), f"the {what} is not a leaf proof")
    data, index, path = proof.get("leaf"), proof.get("index"), proof.get("path")
    check(isinstance(data, str) and isinstance(path, list), f"the {what} is not a leaf proof")
    check(all(isinstance(h, str) and HEX.fullmatch(h) for h in path), f"the {what}'s path")
    path = [bytes.fromhex(h) for h in path]
    got = root_from_path(leaf_prefix, node_prefix, data.encode(), index, size, path)
    check(got == root, f"the {what}'s path does not lead to its root")
    try:
        return json.loads(data)
    except ValueError:
        raise NotVerified(f"the {what}'s leaf is not JSON")


def check_bundle(bundle, vkey):
    check(isinstance(bundle, dict) and bundle.get("bundle") == BUNDLE_FORMAT, "not a bundle v1")
    cp = open_note(bundle.get("checkpoint"), vkey).split("\n")
    check(len(cp) >= 4 and cp[0] == vkey[0], "the checkpoint is not of the key's origin")
    size, log_root = number(cp[1], "the size"), root_line(cp[2], "the root")
    st = open_note(bundle.get("statement"), vkey).split("\n")
    check(len(st) == 7 and st[0] == STATEMENT_HEADER and st[6] == "", "not a statement")
    check(st[1] == cp[0], "the statement is of another origin")
    check(number(st[2], "the statement's size") == size, "the statement is of another size")
    check(root_line(st[3], "the log root") == log_root, "the statement names another root")
    offices = number(st[4], "the number of offices")
    state_root = root_line(st[5], "the state root")
    answer = bundle.get("answer")
    check(isinstance(answer, dict), "no answer")
    if "known" in answer:
        office, on = answer.get("office"), answer.get("on")
        check(isinstance(office, str) and isinstance(on, str) and DAY.fullmatch(on), "answer")
        check(same(answer, {"office": office, "on": on, "as_of": size, "known": False}),
              "the answer for an unknown office must say known false as of the size")
        check(bundle.get("office") is None and bundle.get("segment") is None,
              "a bundle for an unknown office carries no office leaf")
        found = []
        for proof in bundle.get("neighbours") or []:
            got = leaf(proof, OFFICE_LEAF, OFFICE_NODE, offices, state_root, "neighbour")
            found.append((proof["index"], got["office"].encode()))
        x = office.encode()
        if not found:
            ok = offices == 0 and bundle.get("neighbours") is not None
        elif len(found) == 1:
            (i, o), = found
            ok = (i == 0 and x < o) or (i == offices - 1 and x > o)
        elif len(found) == 2:
            (i, a), (j, b) = found
            ok = j == i + 1 and a < x < b
        else:
            ok = False
        check(ok, "the neighbours are not adjacent around the office")
        return answer, cp[0], size
    check(bundle.get("neighbours") is None, "a known office's bundle carries no neighbours")
    on = answer.get("on")
    check(isinstance(on, str) and DAY.fullmatch(on), "the answer's day")
    office = leaf(bundle.get("office"), OFFICE_LEAF, OFFICE_NODE, offices, state_root, "office")
    check(isinstance(office, dict) and set(office) == {"office", "record_starts", "segments",
                                                         "segments_root"}, "an office leaf")
    check(isinstance(office["segments_root"], str) and HEX.fullmatch(office["segments_root"]),
          "the segments root")
    starts = office["record_starts"]
    expected = {"office": office["office"], "on": on, "as_of": size}
    if bundle.get("segment") is not None:
        seg = leaf(bundle["segment"], SEGMENT_LEAF, SEGMENT_NODE, office["segments"],
                   bytes.fromhex(office["segments_root"]), "segment")
        check(isinstance(seg, dict) and set(seg) == {"from", "until", "holder", "titular"},
              "a segment leaf")
        # Days as YYYY-MM-DD compare as strings.
        check(seg["from"] <= on and (seg["until"] is None or on <= seg["until"]),
              f"the proven segment does not cover {on}")
        if bundle["segment"]["index"] == 0:
            check(seg["from"] == starts, "the first segment does not start with the record")
        expected.update(on_record=True, record_starts=None, holder=seg["holder"],
                        titular=seg["titular"])
    else:
        check(starts is None or on < starts, f"{on} is on record: the segment is missing")
        expected.update(on_record=False, record_starts=starts, holder=None, titular=None)
    check(same(answer, expected), "the answer is not what the proven segment says: it says "
          + json.dumps(expected, ensure_ascii=False))
    return answer, cp[0], size


def sentence(a):
    """The who-held sentence, as `actledger who-held` prints it (docs/CLI.md)."""
    head = f"{a['office']} on {a['on']}: "
    if a.get("known") is False:
        return head + f"unknown office as of {a['as_of']}"
    if not a["on_record"]:
        if a["record_starts"]:
            why = f"the ledger's record of {a['office']} starts on {a['record_starts']}"
        else:
            why = f"the ledger had no record of {a['office']} as of entry {a['as_of']}"
        return head + f"no record ({why})"
    h, t = a["holder"], a["titular"]
    text = head
    if h is None:
        text += "vacant"
    else:
        text += f"{h['name'] or h['person']}, {h['capacity']} ({', '.join(h['basis'])})"
    if t is not None:
        is_holder = h is not None and h["capacity"] == "titular" and h["person"] == t["person"]
        name = t["name"] or t["person"]
        away = None
        if t["absence"] is not None and t["absence_act"] is not None:
            away = f"away ({t['absence']}, {t['absence_act']})"
        if away and is_holder:
            text += f"; {away} with nobody in charge"
        elif away:
            text += f"; titular {name} {away}"
        elif not is_holder:
            text += f"; titular {name} present"
    return text


def main(argv):
    as_json = "--json" in argv[1:]
    args = [a for a in argv[1:] if a != "--json"]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 1
    try:
        line = open(args[0]).read() if os.path.exists(args[0]) else args[0]
        raw = sys.stdin.buffer.read() if args[1] == "-" else open(args[1], "rb").read()
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        vkey = parse_vkey(line)
        try:
            bundle = json.loads(raw)
        except ValueError as e:
            raise NotVerified(f"not JSON: {e}")
        answer, origin, size = check_bundle(bundle, vkey)
    except NotVerified as e:
        print(f"not verified: {e}")
        return 3
    except (KeyError, TypeError, AttributeError) as e:
        print(f"not verified: malformed bundle ({e!r})")
        return 3
    if Ed25519PublicKey is None:
        print("the Ed25519 signatures were NOT checked: install the `cryptography` package",
              file=sys.stderr)
    if as_json:
        print(json.dumps(dict(answer, checkpoint={"origin": origin, "size": size}),
                         ensure_ascii=False, separators=(",", ":")))
    else:
        print(sentence(answer))
        print(f"checked against the checkpoint of {origin} at size {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
