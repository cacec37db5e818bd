"""The engine: pure decisions (``decide``), the order state table (``orders``), lockouts and risk,
and the async runner, the only part that awaits venues."""
