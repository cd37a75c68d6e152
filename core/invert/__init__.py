"""ChunkyGAN inversion: per-chunk latent codes with soft masks, run as a resumable job."""

from core.invert.engine import InversionJob, InversionProgress, InversionResult, InversionSettings
from core.invert.losses import LOSS_KINDS, Lpips, ReconstructionLoss, load_lpips
from core.invert.masks import COVERAGES, Coverage
from core.latents import SPACES, Space
from core.latents.codes import ChunkCode, CodeSpace

__all__ = ["COVERAGES", "LOSS_KINDS", "SPACES", "ChunkCode", "CodeSpace", "Coverage",
           "InversionJob", "InversionProgress", "InversionResult", "InversionSettings", "Lpips",
           "ReconstructionLoss", "Space", "load_lpips"]
