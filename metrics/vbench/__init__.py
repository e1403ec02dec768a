"""VBench dimensions, each reproducing VBench's recipe (metric-recipes §8)."""
