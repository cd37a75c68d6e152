"""Image-to-W+ encoders (e4e) that give an inversion its first guess."""
