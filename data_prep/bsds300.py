#!/usr/bin/env python
"""Prepare BSDS300 into data/bsds300/ (images.npz + manifest.json) for the Deep GMM chapter.

--source is the official BSDS300-images.tgz or its extracted BSDS300/ folder
(images/train/*.jpg, images/test/*.jpg, iids_*.txt); download it from
https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/ (non-commercial research
and educational use). All 300 images are checked against pinned SHA-256 values; a missing
or altered image is an error that names it, and nothing is written unless all verify.
Images are stored as uint8 ITU-R BT.601 grayscale (Pillow "L"). Patches are drawn from
them on the fly by genrepro.data.patches (van den Oord & Schrauwen 2014 §5; Uria et al. 2013).

    python data_prep/bsds300.py --source BSDS300-images.tgz [--out DIR]
"""

import argparse
import sys

from genrepro.data import bsds300, run_prepare


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True,
                    help="BSDS300-images.tgz or the extracted BSDS300/ folder")
    ap.add_argument("--out", help="output folder (default: data/bsds300)")
    args = ap.parse_args(argv)
    return run_prepare(lambda: bsds300.prepare(source=args.source, out=args.out))


if __name__ == "__main__":
    sys.exit(main())
