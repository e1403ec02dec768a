"""Full-reference quality metrics (paired: generated vs reference video)."""
