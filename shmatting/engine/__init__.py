"""Training engine: runner, train step, hooks, checkpoints, distribution."""
