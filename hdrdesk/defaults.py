"""Defaults shared by the command line, the app and training (one place; no heavy imports).

``DEFAULT_GAMMA_VARIANT`` is the variant the shipped model was trained with (its card's
``gamma``): gamma maps shown or written by default explain what the network learnt, and
fine-tuning and Refine keep the objective of the model they start from.
"""

from __future__ import annotations

DEFAULT_GAMMA_VARIANT = "variance"
DEFAULT_GAMMA_WINDOW = 11
DEFAULT_GAMMA_ALPHA = 0.5
DEFAULT_WORKING_SIZE = 512  # short side of the copy the network sees
DEFAULT_JPEG_QUALITY = 95
