"""The studies that compare strategies: `mm-bot study compare` and `mm-bot study rl`."""
