"""Text-video alignment metrics (CLIP score, ViCLIP score)."""
