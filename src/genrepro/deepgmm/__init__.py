"""Deep Gaussian Mixture Models (van den Oord & Schrauwen, NIPS 2014): the model, exact
likelihoods, the heuristic hard-EM E-step, the L-BFGS M-step from sufficient statistics,
the training loops (hard-EM and minibatch SGD) and distributed hard-EM over
:mod:`torch.distributed` workers (:mod:`genrepro.deepgmm.distributed`)."""

from genrepro.deepgmm.dist_check import check_against_single
from genrepro.deepgmm.distributed import fit_distributed, shard
from genrepro.deepgmm.estep import (
    coordinate_ascent,
    exact_e_step,
    heuristic_e_step,
    heuristic_trace,
    path_tables,
)
from genrepro.deepgmm.fit import best_path_score, fit, fit_sgd
from genrepro.deepgmm.model import DeepGMM, compose
from genrepro.deepgmm.mstep import (
    NodeStats,
    PathStats,
    combine_stats,
    fold_stats,
    hard_stats,
    layer_node_stats,
    m_step,
    node_objective,
    optimise_node,
    soft_stats,
)

__all__ = [
    "DeepGMM",
    "NodeStats",
    "PathStats",
    "best_path_score",
    "check_against_single",
    "combine_stats",
    "compose",
    "coordinate_ascent",
    "exact_e_step",
    "fit",
    "fit_distributed",
    "fit_sgd",
    "fold_stats",
    "hard_stats",
    "heuristic_e_step",
    "heuristic_trace",
    "layer_node_stats",
    "m_step",
    "node_objective",
    "optimise_node",
    "path_tables",
    "shard",
    "soft_stats",
]
