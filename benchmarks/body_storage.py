#!/usr/bin/env python3
"""Where should bodies live: SQLite blobs beside the records, or one file per body?

Writes N calls' bodies (request + response) both ways, in the shape the recorder writes them
(batches of 500 per transaction, WAL, synchronous=NORMAL), then reads a random sample back.
Prints calls/s for each. Usage: benchmarks/body_storage.py [N] [response_bytes]
"""
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
RESPONSE = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
REQUEST = 2048
BATCH = 500


def bodies(i):
    return os.urandom(REQUEST // 2).hex().encode(), os.urandom(RESPONSE // 2).hex().encode()


def sqlite_blobs(d):
    db = sqlite3.connect(os.path.join(d, "t.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE bodies (id TEXT PRIMARY KEY, request BLOB, response BLOB)")
    start = time.perf_counter()
    for b in range(0, N, BATCH):
        db.execute("BEGIN")
        for i in range(b, min(N, b + BATCH)):
            req, resp = bodies(i)
            db.execute("INSERT INTO bodies VALUES (?, ?, ?)", (f"id{i}", req, resp))
        db.execute("COMMIT")
    write = time.perf_counter() - start
    start = time.perf_counter()
    for i in random.sample(range(N), 2000):
        db.execute("SELECT request, response FROM bodies WHERE id = ?", (f"id{i}",)).fetchone()
    read = time.perf_counter() - start
    return write, read


def files(d):
    db = sqlite3.connect(os.path.join(d, "t.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for b in range(0, N, BATCH):
        for i in range(b, min(N, b + BATCH)):
            req, resp = bodies(i)
            sub = os.path.join(d, f"{i % 256:02x}")
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, f"id{i}.req"), "wb") as f:
                f.write(req)
            with open(os.path.join(sub, f"id{i}.resp"), "wb") as f:
                f.write(resp)
        os.sync()  # the batch's durability point, as a transaction commit is for SQLite
    write = time.perf_counter() - start
    start = time.perf_counter()
    for i in random.sample(range(N), 2000):
        sub = os.path.join(d, f"{i % 256:02x}")
        with open(os.path.join(sub, f"id{i}.req"), "rb") as f:
            f.read()
        with open(os.path.join(sub, f"id{i}.resp"), "rb") as f:
            f.read()
    read = time.perf_counter() - start
    return write, read


for name, fn in [("sqlite blobs", sqlite_blobs), ("files", files)]:
    d = tempfile.mkdtemp(prefix="tg-bodies-")
    try:
        w, r = fn(d)
        print(f"{name:13s} write {N / w:10.0f} calls/s   read {2000 / r:10.0f} calls/s")
    finally:
        shutil.rmtree(d)
