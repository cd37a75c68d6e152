"""Image-to-W+ encoders (e4e) that give an inversion its first guess."""

from core.encoders.e4e import INPUT_SIZE, E4EConfig, E4EEncoder, encoder_input
from core.encoders.loading import load_encoder

__all__ = ["INPUT_SIZE", "E4EConfig", "E4EEncoder", "encoder_input", "load_encoder"]
