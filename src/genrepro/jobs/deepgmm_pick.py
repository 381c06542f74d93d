"""Table 1's rows (van den Oord & Schrauwen 2014, §4): for each depth, the best Deep GMM net on
validation among the Figure 4 sweep's nets of that depth and their runs with no stop on
validation, published as ``deepgmm-gmm``, ``deepgmm-2layer`` and ``deepgmm-3layer``.

A pick carries its chosen net's weights: a complete net is published as its record only
(:meth:`genrepro.jobs.deepgmm.DeepGMMNet.keeps_weights`), and a partial one's published weights
are named rather than copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from genrepro.data.prep import sha256_file
from genrepro.deepgmm.model import DeepGMM
from genrepro.jobs.base import Budget, Job, Status
from genrepro.jobs.deepgmm import DEPTH_NAMES, DeepGMMNet, as_published, model_from_weights, sweep
from genrepro.jobs.deepgmm_score import exact_log_prob


class TableOnePick(Job):
    """Table 1's row of one depth: the best net of that depth on validation."""

    chapter = "deepgmm"
    datasets = ("bsds300",)

    def __init__(self, depth: int, candidates: list[DeepGMMNet] | None = None):
        self.depth = depth
        self.name = DEPTH_NAMES[depth]
        self.priority = 19 + depth
        if candidates is None:   # the sweep's nets of this depth, then their runs with no stop
            from genrepro.jobs.deepgmm_variants import stop_variants

            candidates = [n for n in [*sweep("patches"), *stop_variants()] if n.kind == "patches" and len(n.layers) == depth]
        self.candidates = candidates
        self.description = (f"Table 1: best of {len(self.candidates)} {depth}-layer patch nets on validation "
                            f"({', '.join(n.name for n in self.candidates)})")

    def settings(self) -> tuple[Any, ...]:
        return tuple(n.tag() for n in self.candidates)

    def code_modules(self) -> tuple[str, ...]:
        return ()

    def status(self) -> Status:
        finished = [n.finished() for n in self.candidates]   # complete here, or published complete
        return Status(sum(finished), len(finished), "nets complete",
                      begun=any(finished) or any(n.status().done for n in self.candidates))

    def wall_time_s(self) -> float:
        return sum(n.wall_time_s() for n in self.candidates)

    def started(self) -> bool:
        return any(n.started() or n.published_complete() for n in self.candidates)

    def trained_on(self) -> str:
        seen = set()
        for n in self.candidates:
            if n.status().done:
                seen.add(n.trained_on())
            elif (rec := n.published_record()) is not None:
                seen.add(rec["provenance"]["trained_on"])
        return ", ".join(sorted(seen)) or "unknown"

    def run(self, budget: Budget, device: torch.device, progress: bool = True) -> Status:
        for net in self.candidates:
            if not budget.spent() and not net.finished():
                net.run(budget, device, progress)
        return self.status()

    def publish_files(self, out: Path, device: torch.device) -> dict[str, Any]:
        """The best candidate on validation: a complete one as published (the validation score
        in its record, of its float32 weights), an unfinished one from its checkpoint. The
        chosen net's weights come from its checkpoint or publication, else from this pick's
        previous publication when their SHA-256 is the one the net's record names."""
        x = self.candidates[0].data(device)
        rows, best = [], None
        for net in self.candidates:
            rec, st = net.published_record(), net.status()
            if rec is not None:
                valid, done, state = rec["metrics"]["valid"], len(rec["history"]), rec["provenance"]["status"]
                complete, model = True, None
            elif st.done:
                model = net.restore(device, x["train"])
                valid, done, state, complete = float(exact_log_prob(model, x["valid"]).mean()), st.done, st.state, st.complete
            else:
                rows.append({"net": net.name, "layer_sizes": list(net.layers), "status": st.state})
                continue
            rows.append({"net": net.name, "layer_sizes": list(net.layers), "status": state, "valid": valid,
                         "em_iterations": done})
            if best is None or valid > best[1]:
                best = (net, valid, model, state, complete, rec)
        if best is None:
            raise RuntimeError(f"none of {self.name}'s nets has started: run `python -m genrepro.train {self.name}`")
        net, _, model, state, complete, rec = best
        if model is None:
            model = self._chosen_weights(net, rec, device, x["train"], out.parent)
        dtype = net.weights_dtype(complete)
        tensors, model = as_published(model, dtype)   # the chosen net's published precision and scores
        save_file(tensors, str(out / "weights.safetensors"))
        # a partial chosen net is published with these very weights: name them, don't copy (a complete
        # one keeps its record only, or will: ``--record-only``). ``out`` is built beside its target
        # (``write_published``), so its parent is the root
        same = None if complete else _published_weights_like(net.name, out / "weights.safetensors", out.parent)
        if same is not None:
            (out / "weights.safetensors").unlink()
        return {"model": "genrepro.deepgmm.DeepGMM", "kind": "patches", "layer_sizes": list(net.layers),
                **({"weights_from": same} if same is not None else {}),
                "dim": model.dim, "reg": model.reg, "weights_dtype": str(dtype).removeprefix("torch."),
                "chosen": net.name, "candidates": rows,
                "chosen_status": state,
                "metrics": {**net.evaluate(model, x), "em_iterations": len(model.history),
                            "stopped": model.history[-1].get("stopped", "interrupted")},
                "history": model.history}

    def _chosen_weights(self, net: DeepGMMNet, rec: dict, device: torch.device, train: torch.Tensor,
                        root: Path) -> DeepGMM:
        """The chosen net, complete and published: from its checkpoint or published weights, else
        from the weights this pick published before, when they are the ones ``rec`` names."""
        from genrepro import published

        if net.checkpoint() is not None or net._resumable_record() is not None:
            return net.restore(device, train)
        want = rec["weights_sha256"]   # record only (with its weights, _resumable_record is not None)
        try:
            path = published.weights_folder(self.name, published.record(self.name, root), root) / "weights.safetensors"
        except published.PublishedModelError:   # not published yet, or it names a net's weights that have gone
            path = None
        if path is not None and path.is_file() and sha256_file(path) == want:
            model = model_from_weights(load_file(str(path)), rec["dim"], rec["layer_sizes"], rec["reg"], device)
            model.history = rec["history"]
            return model
        raise RuntimeError(
            f"{net.name} is {self.name}'s best net on validation, but its publication keeps only the SHA-256 of its "
            f"weights ({str(want)[:12]}…), and neither a checkpoint of it nor a publication of {self.name} with "
            f"those weights is here: refit it with `python -m genrepro.train {net.name} --force --budget-min M`, "
            f"then publish {self.name} again")


def _published_weights_like(name: str, path: Path, root: Path | None = None) -> dict[str, str] | None:
    """``{"name", "file", "sha256"}`` when ``name`` is published with a ``weights.safetensors``
    byte-identical to ``path``, else None (a Table 1 pick then carries its own copy)."""
    from genrepro import published

    if name not in published.names(root):
        return None
    digest = sha256_file(path)
    if published.record(name, root)["files"].get("weights.safetensors") != digest:
        return None
    return {"name": name, "file": "weights.safetensors", "sha256": digest}
