"""bitnet_ref: independent numpy reference of BitNet b1.58 inference (see README.md)."""

__version__ = "0.1.0"
