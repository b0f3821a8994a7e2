"""Graph nodes, one module each."""
