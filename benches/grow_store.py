#!/usr/bin/env python3
"""Grows an embedded store for scale runs: copies every document of SRC's simtheme.sqlite3
COPIES times into DST (new document ids, titles marked "#n"), each copy's chunk vectors moved a
little (8 components by up to +-0.02, seeded), so the copies are near neighbours of their
original rather than exact duplicates. Nothing is embedded; the server rebuilds its vector and
keyword indexes from the rows at its first start on DST.

    python3 benches/grow_store.py /path/to/data /tmp/big --copies 50   # 19,296 chunks -> ~965,000

Then e.g. `SIMTHEME_LOAD_DATA_DIR=/tmp/big cargo bench --bench load` measures gRPC latency on it.
"""

import argparse
import array
import os
import random
import shutil
import sqlite3
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="data dir holding simtheme.sqlite3")
    ap.add_argument("dst", help="new data dir (must not exist)")
    ap.add_argument("--copies", type=int, default=10, help="copies of each document (default 10)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    if os.path.exists(a.dst):
        print(f"{a.dst} exists; give a new directory", file=sys.stderr)
        return 2
    os.makedirs(a.dst)
    shutil.copy(os.path.join(a.src, "simtheme.sqlite3"), os.path.join(a.dst, "simtheme.sqlite3"))
    rng = random.Random(a.seed)
    db = sqlite3.connect(os.path.join(a.dst, "simtheme.sqlite3"))
    db.execute("PRAGMA foreign_keys=ON")
    doc_cols = "origin, title, source, date, year, tags, paragraph_count, chunk_count, duplicate_count, created_at"
    originals = [r[0] for r in db.execute("SELECT id FROM documents")]
    for copy in range(1, a.copies + 1):
        for doc in originals:
            new_id = format(int(doc, 16) ^ (copy << 48), "016x")
            db.execute(
                f"INSERT INTO documents (id, {doc_cols}) SELECT ?, origin || '#' || ?, title, source, date, year, tags, "
                "paragraph_count, chunk_count, duplicate_count, created_at FROM documents WHERE id = ?",
                (new_id, copy, doc),
            )
            for pid, pos, heading, text, simplified in db.execute(
                "SELECT id, position, heading, text, simplified FROM paragraphs WHERE document_id = ?", (doc,)
            ).fetchall():
                new_pid = db.execute(
                    "INSERT INTO paragraphs (document_id, position, heading, text, simplified) VALUES (?, ?, ?, ?, ?)",
                    (new_id, pos, heading, text, simplified),
                ).lastrowid
                for ordinal, start, end, text, model, dim, blob in db.execute(
                    "SELECT ordinal, start_char, end_char, text, model_id, dim, vector FROM chunks WHERE paragraph_id = ?", (pid,)
                ).fetchall():
                    v = array.array("f")
                    v.frombytes(blob)
                    for _ in range(8):
                        v[rng.randrange(len(v))] += rng.uniform(-0.02, 0.02)
                    db.execute(
                        "INSERT INTO chunks (paragraph_id, ordinal, start_char, end_char, text, model_id, dim, vector) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (new_pid, ordinal, start, end, text, model, dim, v.tobytes()),
                    )
        db.commit()
        print(f"copy {copy}/{a.copies} done", file=sys.stderr)
    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'corpus_version'")
    db.commit()
    docs, chunks = db.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)").fetchone()
    print(f"{a.dst}: {docs} documents, {chunks} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
