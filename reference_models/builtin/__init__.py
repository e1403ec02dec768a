"""Built-in reference generators that need no weights: the sanity anchors every metric is checked against."""
