"""Venue adapters behind one port (``base.Venue``): the simulator, CCXT and gRPC."""
