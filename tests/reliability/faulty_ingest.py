"""`rag ingest` with one real fault at the Nth write to Chroma: SIGKILL before or after it, or ENOSPC from it on.

    python -m tests.reliability.faulty_ingest kill-before|kill-after|enospc N [rag ingest arguments...]

Writes are counted at Chroma's `Collection.upsert` and `Collection.delete`, so a kill can land between
the two writes that replace one document. `enospc` makes the Nth write and every later one fail the way
a full disk does. Prints each write to stderr as `write N upsert|delete` for the test to read.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

from chromadb.api.models.Collection import Collection

from rag.serving import cli


def inject(mode: str, at: int) -> None:
    """Patch Collection.upsert/delete to count writes and fail as `mode` says at write `at`."""
    calls = 0

    def wrap(name: str):
        original = getattr(Collection, name)

        def write(self, *args, **kwargs):
            nonlocal calls
            calls += 1
            print(f"write {calls} {name}", file=sys.stderr, flush=True)
            if calls == at and mode == "kill-before":
                os.kill(os.getpid(), signal.SIGKILL)
            if calls >= at and mode == "enospc":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            result = original(self, *args, **kwargs)
            if calls == at and mode == "kill-after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(Collection, name, write)

    wrap("upsert")
    wrap("delete")


if __name__ == "__main__":
    inject(sys.argv[1], int(sys.argv[2]))
    sys.exit(cli.main(sys.argv[3:] or ["ingest"]))
