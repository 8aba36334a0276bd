"""The reader process's entry point: `python -m mmrag.ingest.reader_process FD PARENT_PID` (see worker.py)."""
import sys
from multiprocessing.connection import Connection

from .worker import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
