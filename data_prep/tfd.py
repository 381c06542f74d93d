#!/usr/bin/env python
"""Prepare the Toronto Face Database from a copy you have (it cannot be downloaded here).

    python data_prep/tfd.py --source TFD_48x48.mat [--out DIR]

The .mat must hold `images` (N×48×48) and `folds` (N×5; 0 unlabelled, 1 train, 2 valid,
3 test), the layout pylearn2 and the original GAN code read. Without TFD the GAN chapter uses
rendered faces, labelled as a stand-in.
"""

import argparse
import sys

from genrepro.data import run_prepare, tfd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True, help="path to TFD_48x48.mat")
    ap.add_argument("--out", help="output folder (default: data/tfd)")
    args = ap.parse_args(argv)
    return run_prepare(lambda: print(f"[tfd] wrote {tfd.prepare(args.source, args.out)}"))


if __name__ == "__main__":
    sys.exit(main())
