"""StyleGAN2 generator (NVIDIA's architecture, pure torch) and its safe checkpoint loaders."""

from core.stylegan.loaders import load_generator
from core.stylegan.networks import (
    Generator,
    GeneratorConfig,
    StyleVectors,
    images_to_uint8,
    quantised_images,
    uint8_to_images,
)

__all__ = ["Generator", "GeneratorConfig", "StyleVectors", "images_to_uint8", "load_generator",
           "quantised_images", "uint8_to_images"]
