"""Custom field values change JSON type with the field (text, number, boolean, list), and Arrow's
JSON reader refuses a column whose type changes. Before Arrow parses a file, the key of every
value that is not text or null is renamed in place, byte for byte: ``"value": 600`` ->
``"v_num": 600``, ``true``/``false`` -> ``v_bol``, ``[`` -> ``v_lst``, ``{`` -> ``v_obj``, so
each gets a column of its own type. Safe because a key followed by ``:`` cannot occur inside a
JSON string (its quotes would be escaped)."""
from __future__ import annotations

import numpy as np

_TYPED_NAMES = {"num": b"v_num", "bol": b"v_bol", "lst": b"v_lst", "obj": b"v_obj"}


def rename_typed_values(data: bytearray, chunk: int = 1 << 26, end: int | None = None) -> int:
    """Rename, in place, the key ``"value"`` of every value that is not text or null (see the
    module docstring); returns how many were renamed. Same length, so nothing moves.

    Candidates are found four bytes at a time (the text ``alue`` compared as one 32-bit word at
    each of the four alignments), so the whole file is a few vectorised passes, not a Python loop.
    Only keys starting before ``end`` (default: anywhere) are renamed; the bytes after it are
    looked at, so a caller streaming chunks passes a carry of a few hundred bytes."""
    arr = np.frombuffer(data, dtype=np.uint8)
    n = len(arr)
    limit = n if end is None else end
    renamed = 0
    word = np.frombuffer(b"alue", dtype="<u4")[0]
    for lo in range(0, limit, chunk):
        hi = min(lo + chunk + 3, n)
        found = []
        for k in range(4):
            start = lo + k
            m = (hi - start) // 4
            if m <= 0:
                continue
            words = arr[start:start + 4 * m].view("<u4")
            found.append(np.flatnonzero(words == word) * 4 + start)
        q = np.concatenate(found) - 2 if found else np.empty(0, dtype=np.int64)   # position of the opening quote
        q = q[(q >= 0) & (q < min(lo + chunk, limit)) & (q + 16 < n)]   # four alignments: no position twice
        if not len(q):
            continue
        q = q[(arr[q] == 34) & (arr[q + 1] == 118) & (arr[q + 6] == 34)]   # "value"
        if not len(q):
            continue
        p = _skip_space(arr, q + 7)
        colon = arr[p] == 58
        q, p = q[colon], _skip_space(arr, p[colon] + 1)
        first = arr[p]
        for kind, mask in (("num", ((first >= 48) & (first <= 57)) | (first == 45)),
                           ("bol", (first == 116) | (first == 102)),
                           ("lst", first == 91), ("obj", first == 123)):
            at = q[mask]
            for k, ch in enumerate(_TYPED_NAMES[kind]):
                arr[at + 1 + k] = ch
            renamed += len(at)
    return renamed


def _skip_space(arr: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = p.copy()
    for _ in range(64):
        space = np.isin(arr[np.minimum(p, len(arr) - 1)], (32, 9, 10, 13))
        if not space.any():
            break
        p[space] += 1
    return np.minimum(p, len(arr) - 1)
