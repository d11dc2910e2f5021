"""Run one benchmark task in this fresh process and print its peak RSS in MiB.

Usage: python benchmarks/peak.py check|polars FILE CATALOG OUT_DIR
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def main() -> None:
    task, path, catalog, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    if task == "check":
        from ztbulk import check

        check(path, catalog=catalog, out_dir=out)
    else:
        import polars as pl

        pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
    print(peak_mib())


def peak_mib(pid: int | None = None) -> float:
    """Peak RSS of this process (or of `pid`). VmHWM belongs to the address space made by exec;
    ru_maxrss would also count the parent's memory copied at fork (Linux keeps it across exec)."""
    status = Path(f"/proc/{pid or 'self'}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    if pid is not None:
        raise RuntimeError(f"no /proc/{pid}/status: peak RSS of another process is Linux-only")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
