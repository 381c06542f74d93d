"""Deep Convolutional Inverse Graphics Network (Kulkarni et al. 2015, NIPS).

Model and SGVB loss (§3, :mod:`~genrepro.dcign.model`), the latent clamp of the training
procedure (§3.1, §3.2, :mod:`~genrepro.dcign.clamp`), training batches for faces and chairs
(§3.2, §4.1, §4.2, :mod:`~genrepro.dcign.batches`), training with checkpoints
(:mod:`~genrepro.dcign.train`) and the chapter's analyses (§4, :mod:`~genrepro.dcign.analysis`).
"""

from genrepro.dcign.analysis import (
                                     AzimuthCalibration,
                                     abs_pearson,
                                     azimuth_latent_of_baseline,
                                     binned_mean,
                                     calibrate_azimuth,
                                     decode,
                                     disentanglement,
                                     encode,
                                     latent_sweep,
                                     most_varying_latent,
                                     novel_view_errors,
                                     other_latents_movement,
                                     reconstruction_mse,
)
from genrepro.dcign.batches import (
                                     CHAIR_AZ,
                                     CHAIR_ID,
                                     CHAIR_KINDS,
                                     CHAIR_RATIO,
                                     EXTRINSIC,
                                     FACE_RATIO,
                                     Batch,
                                     ChairSource,
                                     FaceSource,
                                     chair_active,
                                     face_active,
                                     kind_sequence,
)
from genrepro.dcign.clamp import active_mask, check_active, clamp_latents
from genrepro.dcign.model import DCIGN, DCIGNConfig, kl_divergence, sgvb_loss
from genrepro.dcign.train import (
                                     MIRROR_SIGNS,
                                     BatchSource,
                                     TrainConfig,
                                     Trainer,
                                     TrainingDiverged,
                                     mirror_tie,
                                     moment_tie,
                                     swapped_code,
                                     train_dcign,
)

__all__ = [
    "CHAIR_AZ", "CHAIR_ID", "CHAIR_KINDS", "CHAIR_RATIO", "DCIGN", "EXTRINSIC", "FACE_RATIO", "MIRROR_SIGNS",
    "AzimuthCalibration", "Batch", "BatchSource", "ChairSource", "DCIGNConfig", "FaceSource",
    "TrainConfig", "Trainer", "TrainingDiverged", "abs_pearson", "active_mask",
    "azimuth_latent_of_baseline", "binned_mean", "calibrate_azimuth", "chair_active",
    "check_active", "clamp_latents", "decode", "disentanglement", "encode", "face_active",
    "kind_sequence", "kl_divergence", "latent_sweep", "mirror_tie", "moment_tie", "most_varying_latent",
    "novel_view_errors", "other_latents_movement", "reconstruction_mse", "sgvb_loss",
    "swapped_code", "train_dcign",
]
