"""ChunkyGAN inversion: per-chunk latent codes (core.latents) with soft masks, run as a
resumable job."""

from core.invert.engine import InversionJob, InversionProgress, InversionResult, InversionSettings
from core.invert.losses import LOSS_KINDS, Lpips, ReconstructionLoss, load_lpips
from core.invert.masks import COVERAGES, Coverage

__all__ = ["COVERAGES", "LOSS_KINDS", "Coverage", "InversionJob", "InversionProgress",
           "InversionResult", "InversionSettings", "Lpips", "ReconstructionLoss", "load_lpips"]
