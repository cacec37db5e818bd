"""A Binance spot emulator over ``sim.exchange.SimExchange``, for the unmodified ccxt client.

Parts, each with one job (beside what every emulator shares in ``sim.servers``: ``symbols``, what a
symbol lists and its default market; ``faults``, the fault engine; ``flags``), ``wire`` (the
JSON shapes), ``errors`` (Binance's refusals), ``auth`` (signatures and the recvWindow), ``params``
(reading and filtering order parameters), ``faults`` (what to inject), ``orders`` (our orders and
trades as Binance reports them), ``market`` (one symbol's exchange and published book), ``venue``
(all symbols, commands, events to stream messages), ``endpoints`` (what each endpoint does),
``rest`` / ``streams`` / ``wsapi`` (the transports), ``hub`` (WebSocket fan-out), ``emulator``
(the server and its clock) and ``options``. ``venue`` and everything it uses does no IO.

What ccxt sends and expects, verified against ccxt 4.5.90, is in docs/ccxt_binance_spot.md.
Not emulated: listen keys (``/api/v3/userDataStream``), order lists (OCO), STOP/TAKE_PROFIT types,
FOK, quote-quantity market orders beyond a conversion at the touch, amendments, self-trade
prevention, request weights (only the injected 429/418), the ws-api's rate limits and its
``session.logon``.
"""

from sim.servers.binance.emulator import Emulator, serve
from sim.servers.binance.faults import FAULTS, REQUEST_FAULTS, STREAM_FAULTS, FaultError, Faults
from sim.servers.binance.options import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    ApiAccount,
    EmulatorOptions,
    OptionError,
    from_flags,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "FAULTS",
    "REQUEST_FAULTS",
    "STREAM_FAULTS",
    "ApiAccount",
    "Emulator",
    "EmulatorOptions",
    "FaultError",
    "Faults",
    "OptionError",
    "from_flags",
    "serve",
]
