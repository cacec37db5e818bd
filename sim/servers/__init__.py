"""Network servers that put the simulator behind a real exchange's wire protocol, so unmodified
exchange clients (ccxt) can trade against ``sim.exchange.SimExchange`` on a loopback port.

``sim.servers.binance`` speaks Binance spot (REST, market streams, WebSocket API). These modules do
IO (asyncio, aiohttp); the venue state under them stays free of it.
"""
