"""What the inversion settings are called in the app and what each does to the result and
to the time: one place, read by the Inversion panel and the Preferences dialog.

The figures come from the code (core.invert: losses.py, masks.py, pti.py, schedule.py)
and from one timing: a 1024² config-f W+ step (synthesis forward and backward, one CPU
thread, process time) took 10.5 s with L2 and 12.0 s with LPIPS (VGG16 alone: 1.3 s);
the tuned synthesis of PTI has 28.3 M float32 weights (113 MB). Keep them true when
those change.
"""

from __future__ import annotations

SPACE_LABELS = {"w": "W (one code, most editable)", "wplus": "W+ (per layer, balanced)",
                "s": "S (style channels, most faithful)"}
SPACE_TIPS = {
    "w": "One 512-number code drives every layer of the generator. The most editable and "
         "least faithful: fine detail and unusual features are lost. Same time per step.",
    "wplus": "One code per generator layer (18 at 1024²). Follows the photo much more closely "
             "and edits still behave well; the usual choice. Same time per step.",
    "s": "Every layer's style channels on their own (about 9,000 numbers at 1024²). The "
         "closest reconstruction, but edits may look less clean. Same time per step.",
}
SPACE_TIP = ("How much freedom each chunk's code has. More freedom reproduces the photo more "
             "closely but drifts from the faces the generator knows, so edits behave less "
             "well. The time per step is about the same for all three.")

LOSS_LABELS = {"lpips": "LPIPS (perceptual)", "l2": "L2 (pixels)",
               "lpips+l2": "LPIPS + L2 (both)"}
LOSS_TIPS = {
    "lpips": "Compares what a trained network (VGG16) sees, at 256×256: sharper hair, skin "
             "texture and eyes, colours a little less exact. Needs the VGG16 weights "
             "(Models). Each step also runs VGG16 forward and backward: about 15 % more "
             "time per step than L2 for a 1024² generator (more for smaller ones).",
    "l2": "Compares pixel by pixel at full size: colours and large shapes match, fine detail "
          "comes out soft. Needs no extra model and is the quickest.",
    "lpips+l2": "Both terms added: LPIPS for texture, L2 keeps the colours exact. Needs the "
                "VGG16 weights; takes as long as LPIPS.",
}
LOSS_TIP = "What the optimisation makes similar to the photo."

COVERAGE_LABELS = {"edit_regions": "Only the chunks (rest stays the photo)",
                   "whole_image": "Chunks cover the whole image"}
COVERAGE_TIPS = {
    "edit_regions": "Only the painted chunks are generated; every pixel outside them stays "
                    "exactly the photo. Best for editing a face in its real surroundings.",
    "whole_image": "The chunks share the whole image between them (pixels no chunk covers are "
                   "split evenly), so the result is entirely generated, as in the ChunkyGAN "
                   "paper's evaluation. Backgrounds come out less exact.",
}
COVERAGE_TIP = "Which pixels come from the generator. The time per step is the same."

OPTIMISE_MASKS_TIP = ("Also moves the borders between chunks (on a 64×64 grid, kept near your "
                      "masks) so each pixel goes to the chunk that reproduces it best. With "
                      "\"Only the chunks\" the outline of the painted area never moves. A small "
                      "extra cost per step.")

STEPS_TIP = ("Optimisation steps. 300 is a good start; more gives a closer reconstruction and "
             "the time grows in proportion. The learning rate (0.1) warms up over the first "
             "5 % of the steps and falls to zero over the last 25 %, so a run always settles; "
             "Continue runs that schedule again from the current codes.")
LAMBDA_TIP = ("Pulls every code towards the average face (weight of its mean squared distance "
              "to the average). Higher: more editable, less faithful. Lower: closer to the "
              "photo, edits may break the face. 1 suits LPIPS. No effect on the time.")
PTI_TIP = ("Pivotal tuning after the steps: a copy of the generator is fine-tuned so the codes "
           "reproduce this photo more closely (about 350 steps is usual; 0 = off). Gives finer "
           "detail without moving the codes, so edits still work. Each PTI step renders the "
           "chunks plus two check images that keep the generator unchanged away from this "
           "face, so it is slower than an inversion step; the project then also stores the "
           "tuned generator's weights (about 110 MB at 1024²).")
START_TIP = ("Where Run starts every chunk: the encoder's code for this face (needs an "
             "installed encoder; usually needs fewer steps for the same result), or the "
             "average face.")
