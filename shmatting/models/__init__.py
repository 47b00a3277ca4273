"""Models: backbones, heads, layers, losses and mattors (registered on import)."""
