"""mm-bot: an async Avellaneda-Stoikov / GLFT market maker with a paper-trading simulator."""

__version__ = "0.1.0"
