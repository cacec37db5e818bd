"""Network servers that put the simulator behind a real exchange's wire protocol, so unmodified
exchange clients (ccxt, mm-bot's GrpcVenue) can trade against ``sim.exchange.SimExchange``.

``sim.servers.binance`` speaks Binance spot (REST, market streams, WebSocket API) on a loopback port;
``sim.servers.grpc`` the gRPC counterparty of ``sim/servers/grpc/proto/venue.proto``. What they
share: ``symbols`` (a symbol's filters and default market), ``faults`` (the fault engine), ``flags``
(the common ``venue serve`` flags) and ``process`` (clock, state file). The servers do IO (asyncio,
aiohttp, grpc); the venue state under them stays free of it.
"""
