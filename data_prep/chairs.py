#!/usr/bin/env python
"""Prepare the 3D chairs of DC-IGN (Kulkarni et al. 2015 §4.2) into data/chairs/<profile>/.

Writes chairs.npz (uint8 images, models × 62 views = 31 azimuths × elevations 20° and 30°,
as in Aubry et al. 2014) and manifest.json (source, SHA-256s, per-model credits, split).

Default source: the seating models of Debian's sweethome3d-furniture 1.8-1 (CC0 and
CC-BY-3.0 models), fetched with `apt-get download` (never installed; run `apt-get update`
once first), verified against a pinned SHA-256, cached in $GENREPRO_CACHE (default
~/.cache/genrepro, re-verified on every use) and rendered with genrepro.render.
Alternatives with --source: that .deb, a .sh3f catalog or a folder of them, or Aubry et
al.'s rendered_chairs folder or rendered_chairs.tar (the paper's data).
Nothing is written unless every model loads and renders.

    python data_prep/chairs.py [--profile quick|full] [--source PATH] [--out DIR]
                               [--size N] [--max-models N|all] [--seed N]
"""

import argparse
import signal
import sys

from genrepro.data import chairs, run_prepare


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="quick", choices=("quick", "full"),
                    help="image size and model count from genrepro.profiles (default: quick)")
    ap.add_argument("--source", help="a .deb, a .sh3f or folder of them, or rendered_chairs "
                                     "(folder or .tar)")
    ap.add_argument("--out", help="output folder (default: data/chairs/<profile>)")
    ap.add_argument("--size", type=int, help="image side in pixels (overrides the profile)")
    ap.add_argument("--max-models", help="number of models, or 'all' (overrides the profile)")
    ap.add_argument("--seed", type=int, help="model subset and split seed (overrides the profile)")
    args = ap.parse_args(argv)
    max_models: int | None = -1
    if args.max_models is not None:
        if args.max_models != "all" and not (args.max_models.isdigit() and int(args.max_models)):
            ap.error("--max-models takes a positive integer or 'all'")
        max_models = None if args.max_models == "all" else int(args.max_models)
    if args.size is not None and args.size < 1:
        ap.error("--size takes a positive integer")
    return run_prepare(lambda: chairs.prepare(out=args.out, source=args.source, profile=args.profile,
                                              size=args.size, max_models=max_models, seed=args.seed))


if __name__ == "__main__":
    # a kill (SIGTERM) unwinds like Ctrl-C, so temporary folders and partial output are removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
