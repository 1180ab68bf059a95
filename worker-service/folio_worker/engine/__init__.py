"""The translation engine: parsing, segmentation, prompts, translation."""
