"""kill -9 in the middle of a large ingest, then ingest again: nothing lost, nothing doubled."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from mmrag import Library

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
WORDS = ("river stone harbour lantern meadow copper violin orchard glacier thunder pepper canyon "
         "saddle marble willow falcon ember quartz tundra velvet").split()


def _corpus(folder, n_files):
    rng = random.Random(7)
    for i in range(n_files):
        body = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(120)) + "." for _ in range(3))
        (folder / f"doc{i:04d}.txt").write_text(f"uniqueterm{i:04d} {body}")


def _count(db, sql):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _ingest(corpus, lib):
    return [sys.executable, "-m", "mmrag", "ingest", str(corpus), "--library", str(lib), "--text-encoder", "minilm"]


@pytest.mark.slow
def test_kill_9_during_ingest_then_resume(tmp_path, minilm):
    corpus, lib_dir = tmp_path / "corpus", tmp_path / "lib"
    corpus.mkdir()
    n_files = 400
    _corpus(corpus, n_files)
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(_ingest(corpus, lib_dir), env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = lib_dir / "store.sqlite"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if db.exists() and _count(db, "SELECT COUNT(*) FROM sources WHERE status='ok'") > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"ingest ended before it could be killed: {proc.stderr.read()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _count(db, "SELECT COUNT(*) FROM sources WHERE status='ok'")
    assert 0 < done_before < n_files

    again = subprocess.run(_ingest(corpus, lib_dir), env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    with Library(lib_dir) as lib:
        sources = lib.store.sources()
        assert len(sources) == n_files and all(s["status"] == "ok" for s in sources)
        ids = set(lib.store.filter_ids().tolist())
        per_source = sum(s["n_records"] for s in sources)
        assert len(ids) == per_source, "no duplicated or orphan records"
        uids = [r[0] for r in lib.store.db.execute("SELECT uid FROM records")]
        assert len(uids) == len(set(uids))
        assert set(lib.index("text").ids().tolist()) == ids
        assert lib.store.fts_count() == len(ids)
        lexical = lib.core.lexical_index()  # the tantivy index the killed run left is brought up to date
        assert lexical is not None and set(lexical.ids().tolist()) == ids
        hit = lib.search("uniqueterm0123", k=1)[0]
        assert hit.record.source.endswith("doc0123.txt")
