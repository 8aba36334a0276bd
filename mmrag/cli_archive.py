"""`mmrag export ARCHIVE` and `mmrag import ARCHIVE`: a library as one checked .tar.gz (`mmrag.core.archive`)."""
from __future__ import annotations

import argparse

from .cli import _emit, command
from .core import default_library
from .core.archive import export_library, import_library
from .doctor import doctor
from .library import Library


@command
def cmd_export(args: argparse.Namespace) -> int:
    with Library(args.library) as lib:
        report = export_library(lib.core, args.archive)
    d = report.to_dict()
    text = f"exported {report.files} files ({report.bytes / 1e6:.1f} MB) of {report.library} to {report.archive}" \
           f" in {report.seconds:.1f} s"
    _emit(args, d, "\n".join([text, *report.notes]))
    return 0


@command
def cmd_import(args: argparse.Namespace) -> int:
    dest = args.library or default_library()
    report = import_library(args.archive, dest)
    with Library(dest):
        pass  # opening it moves the sources stored inside the library to its new folder
    check = doctor(dest)
    d = {**report.to_dict(), "doctor": check}
    text = f"imported {report.files} files ({report.bytes / 1e6:.1f} MB) into {report.library} " \
           f"in {report.seconds:.1f} s ({report.notes[0]})\n{check['text']}"
    _emit(args, d, text)
    return 0 if check["ok"] else 1


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("export", parents=[common], help="write the library to one checked .tar.gz")
    s.add_argument("archive", help="the archive to write, e.g. library.tar.gz (outside the library folder)")
    s = sub.add_parser("import", parents=[common],
                       help="restore an export into --library (a new or empty folder) and check it")
    s.add_argument("archive", help="an archive written by `mmrag export`")
