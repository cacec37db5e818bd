"""The simulated venue: a price-time priority limit order book, synthetic market flow and a
sans-IO exchange around them. This package never imports ``mm_bot``; the bot talks to it through
its venue adapter, and the exchange emulators in ``sim/servers`` put network faces on it."""
