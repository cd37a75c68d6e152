"""Hairstyle transfer: photo B's hair on photo A's head (ChunkyGAN chunks, pose matching
along the learned yaw direction, relighting, joint refinement, an A→B slider)."""

from core.hair.chunks import NoHairError, TransferChunks, transfer_chunks
from core.hair.compose import HairBlender, HairMorph
from core.hair.lighting import Lighting, lighting_between, relight
from core.hair.pose import (
    Pose,
    PoseEstimator,
    PoseMatch,
    PoseMatchSettings,
    landmark_pose,
    match_pose,
    search_strength,
)
from core.hair.refine import RefineWeights
from core.hair.transfer import (
    STAGES,
    HairProgress,
    HairTransferJob,
    HairTransferResult,
    HairTransferSettings,
    png_bytes,
)

__all__ = ["STAGES", "HairBlender", "HairMorph", "HairProgress", "HairTransferJob",
           "HairTransferResult", "HairTransferSettings", "Lighting", "NoHairError", "Pose",
           "PoseEstimator", "PoseMatch", "PoseMatchSettings", "RefineWeights", "TransferChunks",
           "landmark_pose", "lighting_between", "match_pose", "png_bytes", "relight",
           "search_strength", "transfer_chunks"]
