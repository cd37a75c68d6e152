"""Write a tiny Segment Anything checkpoint in the official file format, for tests.

The official files are `torch.save(sam.state_dict())` of `segment_anything.modeling`
classes; the tiny model uses the same classes with small dimensions, so loading it
exercises the same code path as vit_b/l/h, in milliseconds on a CPU.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

TINY_IMG_SIZE = 256
TINY_PATCH = 16
TINY_GRID = TINY_IMG_SIZE // TINY_PATCH  # 16 x 16 image embedding
TINY_EMBED = 32
TINY_DEPTH = 2
TINY_HEADS = 2
TINY_WINDOW = 4
TINY_GLOBAL_BLOCKS = (1,)
TINY_PROMPT_DIM = 32
TINY_MASK_IN_CHANS = 8
TINY_DECODER_DEPTH = 2
TINY_DECODER_MLP = 64
TINY_IOU_HIDDEN = 32
TINY_LOW_RES = 4 * TINY_GRID  # side of the low-resolution mask logits


def build_tiny_sam(seed: int = 0) -> Sam:
    """A small SAM with deterministic random weights (every tensor non-trivial)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sam = Sam(
            image_encoder=ImageEncoderViT(
                img_size=TINY_IMG_SIZE, patch_size=TINY_PATCH, embed_dim=TINY_EMBED,
                depth=TINY_DEPTH, num_heads=TINY_HEADS, mlp_ratio=4.0,
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), qkv_bias=True,
                use_rel_pos=True, global_attn_indexes=TINY_GLOBAL_BLOCKS,
                window_size=TINY_WINDOW, out_chans=TINY_PROMPT_DIM,
            ),
            prompt_encoder=PromptEncoder(
                embed_dim=TINY_PROMPT_DIM, image_embedding_size=(TINY_GRID, TINY_GRID),
                input_image_size=(TINY_IMG_SIZE, TINY_IMG_SIZE),
                mask_in_chans=TINY_MASK_IN_CHANS,
            ),
            mask_decoder=MaskDecoder(
                num_multimask_outputs=3,
                transformer=TwoWayTransformer(depth=TINY_DECODER_DEPTH,
                                              embedding_dim=TINY_PROMPT_DIM,
                                              mlp_dim=TINY_DECODER_MLP, num_heads=8),
                transformer_dim=TINY_PROMPT_DIM, iou_head_depth=3,
                iou_head_hidden_dim=TINY_IOU_HIDDEN,
            ),
        )
        # Positional tables start at zero; perturb every tensor so that a mis-loaded one
        # changes the outputs.
        with torch.no_grad():
            for _, tensor in sorted(sam.state_dict(keep_vars=True).items()):
                tensor.add_(0.05 * torch.randn_like(tensor))
            # Random 2x2 transposed-conv kernels print a checkerboard into every mask; with
            # each kernel constant the upsampling is smooth, so masks follow image regions
            # and "segment everything" finds distinct objects even with random weights.
            for layer in (0, 3):
                weight = sam.mask_decoder.output_upscaling[layer].weight
                weight.copy_(weight[:, :, :1, :1].expand_as(weight))
    return sam.eval()


def write_tiny_sam(path: str | Path, seed: int = 0) -> Path:
    """Save the tiny model's state dict exactly as the official .pth files are saved."""
    path = Path(path)
    torch.save(build_tiny_sam(seed).state_dict(), path)
    return path
