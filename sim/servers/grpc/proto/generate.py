"""Regenerate ``venue_pb2.py``, ``venue_pb2.pyi`` and ``venue_pb2_grpc.py`` from ``venue.proto``.

Run from anywhere: ``python sim/servers/grpc/proto/generate.py`` (needs grpcio-tools, a dev
dependency). The generated modules are committed, so users never run this.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[4]
PROTO = Path(__file__).resolve().with_name("venue.proto").relative_to(ROOT)


def main() -> int:
    args = ["protoc", f"-I{ROOT}", f"--python_out={ROOT}", f"--pyi_out={ROOT}", f"--grpc_python_out={ROOT}"]
    return int(protoc.main([*args, str(PROTO)]))


if __name__ == "__main__":
    sys.exit(main())
