"""Generative Adversarial Nets (Goodfellow et al. 2014): models, training, theory, analysis."""

from genrepro.gan.model import Discriminator, GANConfig, Generator, sample_noise
from genrepro.gan.train import TrainConfig, Trainer, TrainingDiverged, momentum_at

__all__ = ["Discriminator", "GANConfig", "Generator", "TrainConfig", "Trainer",
           "TrainingDiverged", "momentum_at", "sample_noise"]
