"""HDRDesk: exposure fusion of bracketed photos with an unsupervised CNN."""

__version__ = "0.1.0"
